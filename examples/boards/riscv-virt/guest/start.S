/* start.S: hart 0 sets up a stack, clears .bss and runs main(); any
 * other hart waits forever (the board is booted with one). */
	.section .text.start, "ax"
	.globl _start
_start:
	csrr	t0, mhartid
	bnez	t0, park
	la	sp, __stack_top
	la	t0, __bss_start
	la	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:	call	main
park:	wfi
	j	park
