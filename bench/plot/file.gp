# file.gp - file throughput plot: packets per second per tool and capture.
# gnuplot -e "dat='file_pps.dat'; n=2; out='file.png'; title='...'" file.gp
set terminal pngcairo size 760,360 font "sans,9"
set output out
set title title
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [1e4:*]
set ylabel "packets per second (wall clock, log scale)"
set grid ytics
set xtics rotate by -20 nomirror
set key top right
plot for [i=2:n+1] dat using i:xtic(1) title columnheader(i)
