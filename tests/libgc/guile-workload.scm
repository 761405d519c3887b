;; tests/libgc/guile-workload.scm -- run by tests/suites/libgc_dropin.sh under
;; Debian's libgc and goheap's libgc.so.1: the output must be identical.
;; Trees (many collections while the VM stack holds live frames: Guile marks
;; its VM stacks from a mark procedure), hash tables, vectors, strings,
;; guardians, threads, sorting, and a procedure compiled at run time.
(use-modules (ice-9 threads) (srfi srfi-1) (system base compile))
(define (make-tree d) (if (= d 0) '() (cons (make-tree (- d 1)) (make-tree (- d 1)))))
(define (check t) (if (null? t) 1 (+ 1 (check (car t)) (check (cdr t)))))
(define long-lived (make-tree 16))
(let loop ((i 0) (acc 0))
  (if (< i 40) (loop (+ i 1) (+ acc (check (make-tree 14)))) (begin (display "trees ") (display acc) (newline))))
(display "long-lived ") (display (check long-lived)) (newline)
(define h (make-hash-table))
(do ((i 0 (+ i 1))) ((= i 200000)) (hash-set! h i (number->string i)))
(display "hash ") (display (hash-count (const #t) h)) (display " ") (display (hash-ref h 123456)) (newline)
(define v (make-vector 100000 0))
(do ((i 0 (+ i 1))) ((= i 100000)) (vector-set! v i (make-string 10 (integer->char (+ 65 (modulo i 26))))))
(display "vec ") (display (vector-ref v 99999)) (newline)
(define g (make-guardian))
(do ((i 0 (+ i 1))) ((= i 1000)) (g (list i)))
(gc) (gc)
(let loop ((n 0)) (if (g) (loop (+ n 1)) (begin (display "guardian>0 ") (display (> n 0)) (newline))))
(define ths (map (lambda (k) (call-with-new-thread (lambda () (check (make-tree (+ 12 k)))))) (iota 4)))
(display "threads ") (display (map join-thread ths)) (newline)
(display "strings ") (display (string-length (apply string-append (map number->string (iota 20000))))) (newline)
(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
(display "fib ") (display (fib 25)) (newline)
(define sq (compile '(lambda (l) (sort (map (lambda (x) (* x x)) l) >)) #:env (current-module)))
(display (sq (iota 10))) (newline)
