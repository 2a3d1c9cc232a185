%% Entry point of the OTP benchmarks (see run_otp.sh):
%%   erl -noshell -pa DIR/ebin -run relup_bench main BENCH N DIR [REPS]
%% DIR holds the compiled bench modules (ebin/), both versions of
%% bench_account (v1/, v2/) and the release application (app/); the build
%% bench writes its own 50-module application under DIR/build.
%% Prints one JSON row per metric on stdout.
-module(relup_bench).
-export([main/1]).

main([Bench, NStr, Dir | Rest]) ->
    N = list_to_integer(NStr),
    Reps = case Rest of [R] -> list_to_integer(R); [] -> 3 end,
    try
        case Bench of
            "upgrade_rolling" -> bench_upgrade:run(rolling, N, Dir, Reps);
            "upgrade_bulk" -> bench_upgrade:run(bulk, N, Dir, Reps);
            "apply_end_to_end" -> bench_release:run(N, Dir, Reps);
            "request_reply" -> bench_request_reply:run(N, Dir, Reps);
            "idle_process" -> bench_idle:run(N, Dir, Reps);
            "build" -> bench_build:run(N, Dir, Reps);
            "timer_set_fire" -> bench_timer:run(Bench, N, Dir, Reps);
            "timers_pending" -> bench_timer:run(Bench, N, Dir, Reps);
            "tcp_echo" -> bench_tcp_echo:run(N, Dir, Reps);
            "supervisor_restart" -> bench_supervisor:run(N, Dir, Reps)
        end,
        halt(0)
    catch
        C:E:St ->
            io:format(standard_error, "~s failed: ~p:~p~n~p~n", [Bench, C, E, St]),
            halt(1)
    end.
