; With qm: y when x is negative, else 0 (expected: a term of 7 nodes, qm nested).
(set-logic LIA)
(define-fun qm ((a Int) (b Int)) Int (ite (< a 0) b a))
(synth-fun gate ((x Int) (y Int)) Int
  ((Start Int)) ((Start Int (x y 0 1 (- Start Start) (qm Start Start)))))
(declare-var x Int)
(declare-var y Int)
(constraint (= (gate x y) (ite (< x 0) y 0)))
(check-synth)
