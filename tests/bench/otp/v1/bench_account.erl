%% Version 1 of the account server used by every OTP benchmark: the seed's
%% DemoServer. State #{name => Name, money => Money}.
-module(bench_account).
-behaviour(gen_server).
-vsn("1").

-export([start/1, start_link/1, add/2, get/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, code_change/3]).

start(Args) -> gen_server:start(?MODULE, Args, []).
start_link(Args) -> gen_server:start_link(?MODULE, Args, []).
add(Pid, N) -> gen_server:cast(Pid, {add, N}).
get(Pid) -> gen_server:call(Pid, get).

init(#{name := _, money := _} = State) -> {ok, State}.

%% The patterns name the v1 state layout on purpose: this is what an OTP
%% module looks like, and it is what fails when v2 code meets v1 state.
handle_call({add, N}, _From, #{money := M} = S) -> {reply, M + N, S#{money := M + N}};
handle_call(get, _From, S) -> {reply, S, S}.

handle_cast({add, N}, #{money := M} = S) -> {noreply, S#{money := M + N}}.

handle_info(_Msg, S) -> {noreply, S}.

code_change(_OldVsn, S, _Extra) -> {ok, S}.
