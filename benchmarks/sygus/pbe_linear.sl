; programming by example: three input/output pairs
(set-logic LIA)
(synth-fun f ((x Int)) Int)
(constraint (= (f 1) 3))
(constraint (= (f 2) 5))
(constraint (= (f 5) 11))
(check-synth)
