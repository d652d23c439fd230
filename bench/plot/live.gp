# live.gp - live drop rate plot: frames lost and HTTP requests found, by rate.
# gnuplot -e "loss='live_loss_X.dat'; http='live_http_X.dat'; n=6; out='live.png'; title='...'" live.gp
set terminal pngcairo size 960,420 font "sans,9"
set output out
set multiplot layout 1,2 title title
set style data linespoints
set key below horizontal maxrows 2 font "sans,8" samplen 2
set grid ytics
set xtics nomirror
set ylabel "frames lost (% of frames on the link)"
set yrange [-2:102]
plot for [i=2:n+1] loss using i:xtic(1) title columnheader(i) lw 2 pt 7 ps 0.8
set ylabel "HTTP requests found (% of known)"
set yrange [-2:105]
plot for [i=2:n+1] http using i:xtic(1) title columnheader(i) lw 2 pt 7 ps 0.8
unset multiplot
