# results.gp - made by `braid ablate layers`; to redraw: cd docs/examples/ablate-layers && gnuplot results.gp
set terminal svg size 960,520 dynamic background rgb 'white' font 'sans,12'
set output 'results.svg'
set title 'kjv-bamba-11m: change in held-out perplexity when one layer is dropped' noenhanced
set xlabel 'layer dropped'
set ylabel 'perplexity vs baseline (%)'
set style fill solid 0.85 border -1
set boxwidth 0.8
set grid ytics
set xzeroaxis
set key top right noenhanced
set xtics 1
set xrange [-0.7:11.7]
set yrange [*:35.0703]
set label 1 '+9143 %' at 0,32.6154 center front font ',10' tc rgb 'white'

$drops << EOD
# layer change_pct type
0 9142.9831 0
1 21.9189 0
2 6.5923 1
3 5.3211 0
4 5.5396 0
5 4.9753 0
6 5.4072 1
7 2.5246 0
8 3.0526 0
9 9.4178 0
10 2.4928 1
11 6.7999 0
EOD

plot $drops using 1:($3 == 0 ? $2 : 1/0) with boxes lc rgb '#4477aa' title 'mamba2+mlp', \
     $drops using 1:($3 == 1 ? $2 : 1/0) with boxes lc rgb '#ee6677' title 'attention+mlp'
