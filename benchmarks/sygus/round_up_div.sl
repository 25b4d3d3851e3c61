; ceiling division (debt shares rounded up): the least q with q * b >= a
(set-logic NIA)
(synth-fun up ((a Int) (b Int)) Int
  ((Start Int) (Num Int) (Adj Int))
  ((Start Int ((div Num b)))
   (Num Int (a (+ a Adj)))
   (Adj Int (b (- b 1) 1))))
(declare-var a Int)
(declare-var b Int)
(constraint (=> (and (>= a 0) (<= a 1000000) (> b 0) (<= b 1000000))
  (and (>= (* (up a b) b) a) (< (* (- (up a b) 1) b) a))))
(check-synth)
