/*
 * exec_target.h — what exec_test passes to exec_target and how exec_target
 * answers: its exit status is an OR of the EXEC_BAD_* bits, one per check
 * that failed (exec_target.c says what each checks), 0 when all hold.
 */
#ifndef VMLAB_EXEC_TARGET_H
#define VMLAB_EXEC_TARGET_H

/* An empty string and one with a space: each must arrive as it was. */
#define EXEC_ARGV {"exec_target", "alpha", "", "beta gamma", NULL}
#define EXEC_ENVP {"VMLAB_EXEC=1", "EMPTY=", NULL}

#define EXEC_BAD_ARGV 0x01
#define EXEC_BAD_ENVP 0x02
#define EXEC_BAD_PAGESZ 0x04
#define EXEC_BAD_PHDR 0x08
#define EXEC_BAD_ENTRY 0x10
#define EXEC_BAD_RANDOM 0x20

#endif /* VMLAB_EXEC_TARGET_H */
