// goro/goro.hpp — everything goro offers, in one include.
#pragma once

#include "goro/runtime.hpp"
#include "goro/task.hpp"
#include "goro/time.hpp"
#include "goro/sync/wait_group.hpp"
#include "goro/sync/guard.hpp"
#include "goro/sync/mutex.hpp"
#include "goro/sync/rw_mutex.hpp"
#include "goro/sync/once.hpp"
#include "goro/sync/cond.hpp"
#include "goro/sync/semaphore.hpp"
#include "goro/chan.hpp"
#include "goro/select.hpp"
#include "goro/timer.hpp"
#include "goro/error.hpp"
#include "goro/context.hpp"
