%% timer_set_fire and timers_pending: what an erlang:send_after timer costs,
%% the OTP side of tests/bench/timer_bench.cc. Each repetition runs in a
%% fresh process.
%%
%% timer_set_fire (N timers, 5,000 from run.sh): the process starts a 0 ms
%% timer to itself, receives its message, starts the next, N times (the
%% message carries the count down, as on the relup side).
%%   ns_per_timer         the whole chain / N. A 0 ms timer fires on the next
%%                        1 ms tick of the emulator's timer wheel, so this is
%%                        about a millisecond of mostly waiting.
%%   cpu_ns_per_timer     CPU time of the emulator over the chain (user +
%%                        system, every thread: bench_util:cpu_ns/0) / N:
%%                        what the timers cost in CPU, scheduler spinning
%%                        included
%%
%% timers_pending (N timers): the process starts N timers of one hour
%% (erlang:send_after(3600000, self(), never)) in one loop; they stay pending
%% while measured, and go with the process (a timer to a pid is cancelled
%% when that process exits).
%%   start_ms             the time the N send_after calls took
%%   bytes_per_timer      growth of erlang:memory(total) / N
%%   rss_bytes_per_timer  growth of the emulator's RSS (/proc/self/statm) / N
-module(bench_timer).
-export([run/4]).

-define(PENDING_DELAY_MS, 3600000).

run(Bench, N, _Dir, Reps) ->
    Once = case Bench of
               "timer_set_fire" -> fun set_fire/1;
               "timers_pending" -> fun pending/1
           end,
    _ = {bench_util:cpu_ns(), bench_util:rss_bytes()},  % their getconf runs now, not while measured
    Results = [Once(N) || _ <- lists:seq(1, Reps)],
    [bench_util:row(Bench, N, M, V, U) || {M, V, U} <- bench_util:median_rows(Results)],
    ok.

set_fire(N) ->
    Self = self(),
    Cpu0 = bench_util:cpu_ns(),
    spawn_link(fun() ->
                       T0 = erlang:monotonic_time(nanosecond),
                       ticks(N),
                       Self ! {ticked, erlang:monotonic_time(nanosecond) - T0}
               end),
    Ns = receive {ticked, X} -> X end,
    Cpu1 = bench_util:cpu_ns(),
    [{"ns_per_timer", Ns / N, "ns"},
     {"cpu_ns_per_timer", (Cpu1 - Cpu0) / N, "ns"}].

ticks(0) -> ok;
ticks(K) ->
    _ = erlang:send_after(0, self(), K),
    receive K -> ticks(K - 1) end.

pending(N) ->
    Self = self(),
    {P, Ref} = spawn_monitor(fun() ->
                                     receive start -> ok end,
                                     T0 = erlang:monotonic_time(nanosecond),
                                     start_timers(N),
                                     Self ! {started, erlang:monotonic_time(nanosecond) - T0},
                                     receive stop -> ok end
                             end),
    erlang:garbage_collect(),
    M0 = erlang:memory(total),
    R0 = bench_util:rss_bytes(),
    P ! start,
    Ns = receive {started, X} -> X end,
    erlang:garbage_collect(P),  % the dropped timer refs are garbage, not timer cost
    M1 = erlang:memory(total),
    R1 = bench_util:rss_bytes(),
    exit(P, kill),
    receive {'DOWN', Ref, process, P, _} -> ok end,
    wait_freed(M0 + N * 8, 100),  % the next repetition starts from the same level
    [{"bytes_per_timer", (M1 - M0) / N, "bytes"},
     {"rss_bytes_per_timer", (R1 - R0) / N, "bytes"},
     {"start_ms", Ns / 1000000, "ms"}].

start_timers(0) -> ok;
start_timers(K) ->
    _ = erlang:send_after(?PENDING_DELAY_MS, self(), never),
    start_timers(K - 1).

%% Timers of an exited process are cancelled asynchronously.
wait_freed(_, 0) -> ok;
wait_freed(Level, Tries) ->
    case erlang:memory(total) =< Level of
        true -> ok;
        false -> timer:sleep(50), wait_freed(Level, Tries - 1)
    end.
