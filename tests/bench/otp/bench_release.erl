%% apply_end_to_end: a real OTP release upgrade, the anchor relup must beat.
%%
%% The parent builds, in a fresh directory per repetition, a target system
%% ROOT: lib/ with copies of kernel, stdlib and sasl plus bench_app-1,
%% releases/1 with the boot script and RELEASES, and releases/bench-2.tar.gz
%% (systools:make_tar) whose relup (systools:make_relup, from the appup
%% [{update, bench_account, {advanced, []}}]) moves bench_account from v1 to
%% v2. It then boots a new emulator from release 1 with ROOTDIR=ROOT, and
%% that node starts N workers under bench_sup and runs
%% release_handler:unpack_release + install_release. release_handler finds
%% the workers through the supervisor, suspends each, loads v2, runs
%% code_change on each and resumes them, as in production.
%%
%% Rows: total_ms (unpack + install), unpack_ms, install_ms, and migrated
%% (workers whose state has salary afterwards; should be N).
-module(bench_release).
-export([run/3, node_main/1]).

run(N, Dir, Reps) ->
    Results = [once(N, Dir, Rep) || Rep <- lists:seq(1, Reps)],
    [bench_util:row("apply_end_to_end", N, M, V, U)
     || {M, V, U} <- bench_util:median_rows(Results)],
    ok.

once(N, Dir, Rep) ->
    Root = filename:join(Dir, "release-" ++ integer_to_list(Rep)),
    build(Root, Dir),
    Out = boot_and_upgrade(Root, Dir, N),
    Get = fun(Key) ->
                  case [V || L <- Out, {ok, [K, V]} <- [parse_line(L)], K =:= Key] of
                      [V] -> V;
                      [] -> error({no_result, Key, Out})
                  end
          end,
    [{"total_ms", Get("unpack_ms") + Get("install_ms"), "ms"},
     {"unpack_ms", Get("unpack_ms"), "ms"},
     {"install_ms", Get("install_ms"), "ms"},
     {"migrated", round(Get("migrated")), "processes"}].

parse_line("RESULT " ++ Rest) ->
    [K, V] = string:tokens(Rest, " "),
    {ok, [K, list_to_float(V)]};
parse_line(_) -> skip.

%% --- building the target system and the upgrade package -----------------

build(Root, Dir) ->
    Build = filename:join(Root, "build"),
    Lib1 = filename:join([Root, "lib", "bench_app-1"]),
    Lib2 = filename:join([Build, "lib", "bench_app-2"]),
    Rel1Dir = filename:join([Root, "releases", "1"]),
    [ok = filelib:ensure_dir(filename:join(D, "x"))
     || D <- [filename:join(Lib1, "ebin"), filename:join(Lib2, "ebin"), Rel1Dir]],
    [copy_otp_app(Root, App) || App <- [kernel, stdlib, sasl]],
    make_app(Lib1, Dir, "1"),
    make_app(Lib2, Dir, "2"),
    ok = bench_util:write_term(filename:join([Lib2, "ebin", "bench_app.appup"]),
                               {"2", [{"1", [{update, bench_account, {advanced, []}}]}],
                                     [{"1", [{update, bench_account, {advanced, []}}]}]}),
    write_rel(filename:join(Build, "bench-1.rel"), "1"),
    write_rel(filename:join(Build, "bench-2.rel"), "2"),
    Path1 = [filename:join(Lib1, "ebin")],
    Path2 = [filename:join(Lib2, "ebin")],
    Opts = [silent, no_warn_sasl],
    {ok, _, _} = systools:make_script(filename:join(Build, "bench-1"),
                                      [{path, Path1}, {outdir, Rel1Dir} | Opts]),
    {ok, _} = file:copy(filename:join(Build, "bench-1.rel"), filename:join(Rel1Dir, "bench-1.rel")),
    {ok, _, _} = systools:make_script(filename:join(Build, "bench-2"),
                                      [{path, Path2}, {outdir, Build} | Opts]),
    {ok, _, _, _} = systools:make_relup(filename:join(Build, "bench-2"), [filename:join(Build, "bench-1")],
                                     [filename:join(Build, "bench-1")],
                                     [{path, Path1 ++ Path2}, {outdir, Build} | Opts]),
    {ok, _, _} = systools:make_tar(filename:join(Build, "bench-2"),
                                   [{path, Path2}, {outdir, filename:join(Root, "releases")} | Opts]),
    ok = release_handler:create_RELEASES(Root, filename:join(Rel1Dir, "bench-1.rel")),
    ok.

%% Copies (not links: unpack_release writes into ROOT/lib) an OTP application.
copy_otp_app(Root, App) ->
    Src = code:lib_dir(App),
    Dst = filename:join([Root, "lib", filename:basename(Src)]),
    [] = os:cmd("cp -r '" ++ Src ++ "' '" ++ Dst ++ "'"),
    ok.

make_app(Lib, Dir, Vsn) ->
    Ebin = filename:join(Lib, "ebin"),
    [{ok, _} = file:copy(F, filename:join(Ebin, filename:basename(F)))
     || F <- filelib:wildcard(filename:join([Dir, "app", "*.beam"])) ++
             [filename:join([Dir, "v" ++ Vsn, "bench_account.beam"])]],
    App = {application, bench_app,
           [{description, "relup benchmark accounts"}, {vsn, Vsn},
            {modules, [bench_app, bench_sup, bench_account]}, {registered, [bench_sup]},
            {applications, [kernel, stdlib]}, {mod, {bench_app, []}}]},
    ok = bench_util:write_term(filename:join(Ebin, "bench_app.app"), App).

write_rel(File, Vsn) ->
    ok = bench_util:write_rel(File, "bench", Vsn, [kernel, stdlib, sasl, {bench_app, Vsn}]).

%% --- the upgraded node ---------------------------------------------------

boot_and_upgrade(Root, Dir, N) ->
    Bin = filename:join([code:root_dir(), "erts-" ++ erlang:system_info(version), "bin"]),
    Args = ["-noshell", "+P", integer_to_list(max(262144, 2 * N + 10000)),
            "-boot", filename:join([Root, "releases", "1", "bench-1"]),
            "-pa", filename:join(Dir, "ebin"),
            "-sasl", "releases_dir", "\"" ++ filename:join(Root, "releases") ++ "\"",
            "-kernel", "logger_level", "error",
            "-run", "bench_release", "node_main", integer_to_list(N)],
    Port = open_port({spawn_executable, filename:join(Bin, "erlexec")},
                     [{args, Args}, {line, 4096}, exit_status, stderr_to_stdout, {cd, Root},
                      {env, [{"ROOTDIR", Root}, {"BINDIR", Bin}, {"EMU", "beam"},
                             {"PROGNAME", "erl"}]}]),
    collect(Port, []).

collect(Port, Acc) ->
    receive
        {Port, {data, {_, Line}}} -> collect(Port, [Line | Acc]);
        {Port, {exit_status, 0}} -> lists:reverse(Acc);
        {Port, {exit_status, S}} -> error({upgrade_node_failed, S, lists:reverse(Acc)})
    end.

%% Runs in the node booted from release 1.
node_main([NStr]) ->
    N = list_to_integer(NStr),
    try
        ok = bench_sup:start_workers(N),
        T0 = bench_util:now_us(),
        {ok, "2"} = release_handler:unpack_release("bench-2"),
        T1 = bench_util:now_us(),
        {ok, "1", _} = release_handler:install_release("2"),
        T2 = bench_util:now_us(),
        Workers = [P || {_, P, _, _} <- supervisor:which_children(bench_sup)],
        Migrated = length([P || P <- Workers, is_map_key(salary, sys:get_state(P))]),
        io:format("RESULT unpack_ms ~f~nRESULT install_ms ~f~nRESULT migrated ~f~n",
                  [(T1 - T0) / 1000, (T2 - T1) / 1000, float(Migrated)]),
        init:stop(0)
    catch
        C:E:St ->
            io:format("upgrade failed: ~p:~p~n~p~n", [C, E, St]),
            init:stop(1)
    end.
