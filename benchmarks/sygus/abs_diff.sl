; |x - y|
(set-logic LIA)
(synth-fun dist ((x Int) (y Int)) Int)
(declare-var x Int)
(declare-var y Int)
(constraint (>= (dist x y) 0))
(constraint (or (= (dist x y) (- x y)) (= (dist x y) (- y x))))
(check-synth)
