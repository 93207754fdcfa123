/*
 * ast2500-start.S: reset entry for the ast2500-evb demo firmware
 * (a copy of tests/firmware/ast2500-start.S).
 *
 * QEMU loads the ELF given with -kernel and jumps to _start in ARM state
 * with the MMU and caches off. We only need a stack and a zeroed .bss
 * before C runs; this is done in assembly so the compiler cannot turn the
 * zeroing loop into a call to memset, which we do not have.
 */
	.section .text.start, "ax"
	.arm
	.global _start
_start:
	ldr	sp, =__stack_top
	ldr	r0, =__bss_start
	ldr	r1, =__bss_end
	mov	r2, #0
1:	cmp	r0, r1
	strlo	r2, [r0], #4
	blo	1b
	bl	main
2:	b	2b			/* main never returns */
