; Absolute value through a defined operator whose body repeats its argument:
; qm(a, b) is a when a >= 0, else b. Expected: (qm x (- 0 x)).
(set-logic LIA)
(define-fun qm ((a Int) (b Int)) Int (ite (< a 0) b a))
(synth-fun f ((x Int)) Int
  ((Start Int)) ((Start Int (x 0 1 (- Start Start) (qm Start Start)))))
(declare-var x Int)
(constraint (>= (f x) 0))
(constraint (or (= (f x) x) (= (f x) (- 0 x))))
(check-synth)
