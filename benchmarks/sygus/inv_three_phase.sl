; loop invariant: y += 2 and z += 3 per step, so 3y = 2z; z stays within 3 * 20
(set-logic LIA)
(synth-inv inv ((x Int) (y Int) (z Int)))
(define-fun pre ((x Int) (y Int) (z Int)) Bool (and (= x 0) (= y 0) (= z 0)))
(define-fun trans ((x Int) (y Int) (z Int) (x! Int) (y! Int) (z! Int)) Bool
  (and (< x 20) (= x! (+ x 1)) (= y! (+ y 2)) (= z! (+ z 3))))
(define-fun post ((x Int) (y Int) (z Int)) Bool (and (= (* 3 y) (* 2 z)) (<= z 60)))
(inv-constraint inv pre trans post)
(check-synth)
