set terminal svg size 900,420 font 'sans,11' noenhanced
set output 'handshake.svg'
set title 'tlsession: handshakes per second per core, in memory (higher is better)'
set style data histograms
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel 'handshakes/s'
set grid y
set xtics rotate by -20
set key top left
plot 'handshake.dat' using 2:xtic(1) title 'full', '' using 3 title 'resumed'
