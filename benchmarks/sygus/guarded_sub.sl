; guarded linear function: x - y when x > y, else 0
(set-logic LIA)
(synth-fun pos_sub ((x Int) (y Int)) Int)
(declare-var x Int)
(declare-var y Int)
(constraint (=> (> x y) (= (pos_sub x y) (- x y))))
(constraint (=> (<= x y) (= (pos_sub x y) 0)))
(check-synth)
