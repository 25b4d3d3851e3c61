; define-fun inlined in a constraint
(set-logic LIA)
(define-fun double ((a Int)) Int (+ a a))
(synth-fun f ((x Int)) Int)
(declare-var x Int)
(constraint (= (f x) (double (+ x 1))))
(check-synth)
