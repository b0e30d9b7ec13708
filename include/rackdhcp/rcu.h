/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rcu.h — the one place that includes liburcu, so every file uses the same
 * flavour: "memb" (membarrier-based, readers pay almost nothing and no signal
 * is stolen) when configure found liburcu-memb, else liburcu's default.
 * Threads that take rcu_read_lock must call rcu_register_thread() first.
 */
#pragma once

#ifdef RD_URCU_MEMB
#ifndef RCU_MEMB
#define RCU_MEMB
#endif
#endif
#include <urcu.h>
#include <urcu/rculfhash.h>
