%% idle_process: memory and spawn cost of an idle gen_server holding the
%% seed's state #{name => <<"blackode">>, money => 30000}.
%%   bytes_per_process: growth of erlang:memory(processes) / N
%%   process_info_bytes: median process_info(P, memory) (heap + stack +
%%                       process struct + message queue)
%%   spawn_us:           gen_server:start (spawn + init handshake) per process
-module(bench_idle).
-export([run/3]).

run(N, Dir, Reps) ->
    bench_util:load_account(Dir, "1"),
    Results = [once(N) || _ <- lists:seq(1, Reps)],
    [bench_util:row("idle_process", N, M, V, U) || {M, V, U} <- bench_util:median_rows(Results)],
    ok.

once(N) ->
    erlang:garbage_collect(),
    Before = erlang:memory(processes),
    T0 = bench_util:now_us(),
    Pids = bench_util:spawn_accounts(N),
    T1 = bench_util:now_us(),
    After = erlang:memory(processes),
    Sample = [element(2, process_info(element(I, Pids), memory))
              || I <- lists:seq(1, N, max(1, N div 1000))],
    bench_util:kill_all(Pids),
    [{"bytes_per_process", (After - Before) / N, "bytes"},
     {"process_info_bytes", bench_util:median(Sample), "bytes"},
     {"spawn_us", (T1 - T0) / N, "us"}].
