;;; tests/libgc/guile-weak.scm -- Guile 3.0's weak hash tables on libgc.so.1:
;;; entries whose weak part nothing else references are dropped after (gc).
;;; Guile types each weak-key table entry {hash, next, key, value} with a
;;; layout (GC_malloc_explicitly_typed) whose bitmap leaves the key out, and
;;; registers the key as a disappearing link; on goheap the layout is traced
;;; by bdwgc/traced.c.  Prints one "ok"/"FAIL" line per check; a few entries
;;; may survive through stale stack words (conservative roots): at most 5%.
(define n 10000)
(define (count t) (hash-fold (lambda (k v acc) (+ acc 1)) 0 t))
(define kept (map (lambda (i) (list 'kept i)) (iota 100)))

(define tk (make-weak-key-hash-table))
(for-each (lambda (k) (hash-set! tk k #t)) kept)
(let loop ((i 0)) (when (< i n) (hash-set! tk (list i) i) (loop (+ i 1))))
(define tv (make-weak-value-hash-table))
(let loop ((i 0)) (when (< i n) (hash-set! tv i (list i)) (loop (+ i 1))))
(define tkv (make-doubly-weak-hash-table))
(let loop ((i 0)) (when (< i n) (hash-set! tkv (list i) (list i)) (loop (+ i 1))))
(gc) (gc) (gc)

(define (report name ok)
  (display (if ok "ok   " "FAIL ")) (display name) (newline))
(report "weak-key table: the dropped keys' entries are gone" (<= (count tk) (+ 100 (quotient n 20))))
(report "weak-key table: the 100 kept keys are all there"
        (= 100 (length (filter (lambda (k) (hash-ref tk k)) kept))))
(report "weak-value table: the dropped values' entries are gone" (<= (count tv) (quotient n 20)))
(report "doubly weak table: emptied" (<= (count tkv) (quotient n 20)))
