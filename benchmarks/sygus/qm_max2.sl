; Max of two through the defined operator qm (SyGuS-Comp's qm_* shape, our own file).
(set-logic LIA)
(define-fun qm ((a Int) (b Int)) Int (ite (< a 0) b a))
(synth-fun qmax ((x Int) (y Int)) Int
  ((Start Int)) ((Start Int (x y 0 1 (+ Start Start) (- Start Start) (qm Start Start)))))
(declare-var x Int)
(declare-var y Int)
(constraint (>= (qmax x y) x))
(constraint (>= (qmax x y) y))
(constraint (or (= (qmax x y) x) (= (qmax x y) y)))
(check-synth)
