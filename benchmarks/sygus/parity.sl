; parity: x mod 2, and the matching rounding down to an even number
(set-logic LIA)
(synth-fun parity ((x Int)) Int)
(synth-fun even_floor ((x Int)) Int)
(declare-var x Int)
(constraint (= (parity x) (mod x 2)))
(constraint (= (+ (even_floor x) (parity x)) x))
(check-synth)
