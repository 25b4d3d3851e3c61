; two synth-funs coupled by their constraints
(set-logic LIA)
(synth-fun f ((x Int)) Int)
(synth-fun g ((x Int)) Int)
(declare-var x Int)
(constraint (= (+ (f x) (g x)) (+ x x)))
(constraint (= (- (f x) (g x)) 2))
(check-synth)
