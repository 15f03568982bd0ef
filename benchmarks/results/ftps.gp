set terminal svg size 900,420 font 'sans,11' noenhanced
set output 'ftps.svg'
set title 'Small FTPS downloads per second over one control connection (higher is better)'
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set logscale y
set ylabel 'files/s'
set grid y
set xtics rotate by -15
unset key
plot 'ftps.dat' using 2:xtic(1)
