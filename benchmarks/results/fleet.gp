set terminal svg size 900,420 font 'sans,11' noenhanced
set output 'fleet.svg'
set title 'tlsession: TLS 1.2 handshakes per second over TCP, one client (higher is better)'
set style data histograms
set style fill solid 0.8 border -1
set ylabel 'handshakes/s'
set grid y
set yrange [0:*]
set xtics rotate by -20
unset key
plot 'fleet.dat' using 2:xtic(1)
