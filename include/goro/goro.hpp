// goro/goro.hpp — everything goro offers, in one include.
#pragma once

#include "goro/runtime.hpp"
#include "goro/task.hpp"
#include "goro/time.hpp"
#include "goro/sync/wait_group.hpp"
#include "goro/chan.hpp"
#include "goro/select.hpp"
#include "goro/timer.hpp"
