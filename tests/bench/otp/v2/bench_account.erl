%% Version 2 of the account server: money is renamed salary, and
%% code_change migrates the state. A process still holding v1 state when
%% this code is loaded crashes (function_clause) on its next message — the
%% real OTP behaviour the rolling benchmark counts.
-module(bench_account).
-behaviour(gen_server).
-vsn("2").

-export([start/1, start_link/1, add/2, get/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, code_change/3]).

start(Args) -> gen_server:start(?MODULE, Args, []).
start_link(Args) -> gen_server:start_link(?MODULE, Args, []).
add(Pid, N) -> gen_server:cast(Pid, {add, N}).
get(Pid) -> gen_server:call(Pid, get).

init(#{name := Name, money := M}) -> {ok, #{name => Name, salary => M}}.

handle_call({add, N}, _From, #{salary := M} = S) -> {reply, M + N, S#{salary := M + N}};
handle_call(get, _From, S) -> {reply, S, S}.

handle_cast({add, N}, #{salary := M} = S) -> {noreply, S#{salary := M + N}}.

handle_info(_Msg, S) -> {noreply, S}.

code_change({down, _}, #{salary := M} = S, _Extra) ->
    {ok, maps:put(money, M, maps:remove(salary, S))};
code_change(_OldVsn, #{money := M} = S, _Extra) ->
    {ok, maps:put(salary, M, maps:remove(money, S))}.
