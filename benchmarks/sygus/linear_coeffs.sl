; a linear function with coefficients: 3x - 2y + 7
(set-logic LIA)
(synth-fun f ((x Int) (y Int)) Int)
(declare-var x Int)
(declare-var y Int)
(constraint (= (f x y) (+ (* 3 x) (* (- 2) y) 7)))
(check-synth)
