; fee in basis points, rounded down: fee = amount * bps / 10000
(set-logic NIA)
(synth-fun fee ((amount Int) (bps Int)) Int
  ((Start Int) (Term Int) (Const Int))
  ((Start Int (Term (div Term Const)))
   (Term Int (amount bps (* amount bps)))
   (Const Int (100 10000))))
(declare-var amount Int)
(declare-var bps Int)
(constraint (=> (and (>= amount 0) (<= amount 1000000000) (>= bps 0) (<= bps 10000))
  (and (<= (* (fee amount bps) 10000) (* amount bps))
       (< (* amount bps) (* (+ (fee amount bps) 1) 10000)))))
(check-synth)
