; min of three, with a small grammar
(set-logic LIA)
(synth-fun min3 ((x Int) (y Int) (z Int)) Int
  ((Start Int) (B Bool))
  ((Start Int (x y z (ite B Start Start)))
   (B Bool ((<= Start Start)))))
(declare-var x Int)
(declare-var y Int)
(declare-var z Int)
(constraint (<= (min3 x y z) x))
(constraint (<= (min3 x y z) y))
(constraint (<= (min3 x y z) z))
(constraint (or (= x (min3 x y z)) (= y (min3 x y z)) (= z (min3 x y z))))
(check-synth)
