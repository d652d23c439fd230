# where.gp - instructions per packet by stage, stacked, one bar per capture.
# gnuplot -e "dat='where.dat'; n=8; out='where.png'; title='...'" where.gp
set terminal pngcairo size 760,380 font "sans,9"
set output out
set title title
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.5
set ylabel "instructions per packet (callgrind)"
set grid ytics
set xtics nomirror
set key outside right font "sans,8"
plot for [i=2:n+1] dat using i:xtic(1) title columnheader(i)
