# live_top.gp - what the generator reached at top speed with each tool
# capturing (both share 2 CPUs), with the tool's CPU cost on each bar.
# gnuplot -e "dat='live_top_X.dat'; out='live_top.png'; title='...'" live_top.gp
set terminal pngcairo size 760,360 font "sans,9"
set output out
set title title
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.8
set ylabel "tcpreplay --topspeed, packets/s achieved"
set yrange [0:*]
set grid ytics
set xtics rotate by -20 nomirror
set key off
set offsets 0, 0, graph 0.12, 0
set xlabel "above each bar: the tool's CPU seconds per million frames; % of frames lost" font "sans,8"
plot dat using 2:xtic(1) lc rgb "#4477aa", \
     '' using 0:2:(sprintf("%.2f s; %.1f%%", $3, $4)) with labels offset 0,0.7 font "sans,8"
