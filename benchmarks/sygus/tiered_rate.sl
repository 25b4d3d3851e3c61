; piecewise linear: 2x below 10, x + 10 from 10 on
(set-logic LIA)
(synth-fun rate ((x Int)) Int)
(declare-var x Int)
(constraint (=> (< x 10) (= (rate x) (* 2 x))))
(constraint (=> (>= x 10) (= (rate x) (+ x 10))))
(check-synth)
