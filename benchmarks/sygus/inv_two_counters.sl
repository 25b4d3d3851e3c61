; loop invariant: two counters move together
(set-logic LIA)
(synth-inv inv ((x Int) (y Int)))
(define-fun pre ((x Int) (y Int)) Bool (and (= x 0) (= y 0)))
(define-fun trans ((x Int) (y Int) (x! Int) (y! Int)) Bool
  (and (< x 50) (= x! (+ x 1)) (= y! (+ y 1))))
(define-fun post ((x Int) (y Int)) Bool (=> (>= x 50) (= y 50)))
(inv-constraint inv pre trans post)
(check-synth)
