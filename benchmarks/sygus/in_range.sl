; a Bool function without grammar: lo <= x < hi
(set-logic LIA)
(synth-fun in_range ((x Int) (lo Int) (hi Int)) Bool)
(declare-var x Int)
(declare-var lo Int)
(declare-var hi Int)
(constraint (= (in_range x lo hi) (and (<= lo x) (< x hi))))
(check-synth)
