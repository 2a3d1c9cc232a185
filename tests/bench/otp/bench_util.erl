%% Helpers shared by the OTP benchmarks: JSON rows, statistics, code loading.
-module(bench_util).
-export([row/5, median/1, percentile/2, now_us/0, load_account/2, median_rows/1,
         spawn_accounts/1, kill_all/1, quiet_logger/0, write_term/2, write_rel/4,
         cpu_ns/0, rss_bytes/0]).

%% Prints one JSON result row on its own line.
row(Bench, N, Metric, Value, Unit) ->
    io:format("{\"bench\": \"~s\", \"system\": \"otp\", \"n\": ~b, \"metric\": \"~s\", "
              "\"value\": ~s, \"unit\": \"~s\"}~n",
              [Bench, N, Metric, format_value(Value), Unit]).

format_value(V) when is_integer(V) -> integer_to_list(V);
format_value(V) when is_float(V) -> float_to_list(V, [{decimals, 3}, compact]).

now_us() -> erlang:monotonic_time(microsecond).

median([]) -> 0;
median(L) -> percentile(L, 50).

%% Nearest-rank percentile of a list of numbers.
percentile([], _) -> 0;
percentile(L, P) ->
    S = lists:sort(L),
    Len = length(S),
    Rank = max(1, min(Len, ceil(P / 100 * Len))),
    lists:nth(Rank, S).

%% [[{Metric, Value, Unit}]] from several repetitions -> the median of each.
median_rows([First | _] = Reps) ->
    [{M, median([V || Rep <- Reps, {M2, V, _} <- Rep, M2 =:= M]), U} || {M, _, U} <- First].

%% Loads version "1" or "2" of bench_account from Dir/v1 or Dir/v2 as the
%% current code (the previous current version becomes old code).
load_account(Dir, Vsn) ->
    File = filename:join([Dir, "v" ++ Vsn, "bench_account.beam"]),
    {ok, Bin} = file:read_file(File),
    _ = code:purge(bench_account),
    {module, bench_account} = code:load_binary(bench_account, File, Bin),
    ok.

%% N unlinked account servers with the seed's state, as a tuple of pids.
spawn_accounts(N) ->
    list_to_tuple([begin
                       {ok, P} = bench_account:start(#{name => <<"blackode">>, money => 30000}),
                       P
                   end || _ <- lists:seq(1, N)]).

kill_all(Pids) ->
    L = tuple_to_list(Pids),
    Refs = [erlang:monitor(process, P) || P <- L],
    [exit(P, kill) || P <- L],
    [receive {'DOWN', R, process, _, _} -> ok end || R <- Refs],
    ok.

%% Crashing gen_servers are part of a benchmark; do not print their reports.
quiet_logger() -> logger:set_primary_config(level, none).

%% Writes Term to File as `Term.`, the format of .app, .rel and .appup files.
write_term(File, Term) -> file:write_file(File, io_lib:format("~p.~n", [Term])).

%% Writes a .rel for release Name-Vsn on this emulator's erts. Apps lists the
%% applications in boot order: an atom is an OTP application at the version
%% installed here, {App, AppVsn} one of the benchmark's own.
write_rel(File, Name, Vsn, Apps) ->
    Versions = [case A of
                    {_, _} -> A;
                    _ -> {A, installed_vsn(A)}
                end || A <- Apps],
    write_term(File, {release, {Name, Vsn}, {erts, erlang:system_info(version)}, Versions}).

installed_vsn(App) ->
    case application:load(App) of
        ok -> ok;
        {error, {already_loaded, App}} -> ok
    end,
    {ok, Vsn} = application:get_key(App, vsn),
    Vsn.

%% CPU time of the whole emulator, user + system, every thread, in ns, from
%% /proc/self/stat (clock-tick resolution, 10 ms with the usual USER_HZ).
%% Not statistics(runtime): that is user time only, and an I/O-heavy
%% emulator spends most of its time in the kernel.
cpu_ns() ->
    {ok, Stat} = file:read_file("/proc/self/stat"),
    %% Fields after the command name, which is in parentheses: state is
    %% field 3, utime 14, stime 15.
    [_, After] = string:split(Stat, <<") ">>, trailing),
    Fields = binary:split(After, <<" ">>, [global]),
    Ticks = binary_to_integer(lists:nth(12, Fields)) + binary_to_integer(lists:nth(13, Fields)),
    Ticks * (1000000000 div sysconf("CLK_TCK")).

%% Resident set size of the emulator in bytes (/proc/self/statm).
rss_bytes() ->
    {ok, Statm} = file:read_file("/proc/self/statm"),
    [_, Resident | _] = binary:split(Statm, <<" ">>, [global]),
    binary_to_integer(Resident) * sysconf("PAGESIZE").

sysconf(Name) ->
    Key = {?MODULE, sysconf, Name},
    case persistent_term:get(Key, undefined) of
        undefined ->
            V = list_to_integer(string:trim(os:cmd("getconf " ++ Name))),
            persistent_term:put(Key, V),
            V;
        V ->
            V
    end.
