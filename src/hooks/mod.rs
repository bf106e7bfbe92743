//! The one sandboxed rhai engine that runs workflow hooks.
//!
//! Scripts are compiled once per rules load ([`compile`]) and called many times
//! ([`run_hook`]). A hook receives `(user, before, after)` and can only record intents
//! through three registered functions: `link(entity, key)`, `set(field, value)` and
//! `log(message)`. The host (the evaluator) validates each intent against the target schema.
//!
//! The engine is built with [`rhai::Engine::new_raw`] plus only the core, logic, string and
//! collection packages; `eval` is disabled, variables are strict, and every run is bounded by
//! [`Limits`]: operations, call depth, expression depth, string/array/map sizes and a
//! wall-clock deadline checked through `on_progress`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use rhai::packages::{
    BasicArrayPackage, BasicMapPackage, BasicStringPackage, CorePackage, LogicPackage,
    MoreStringPackage, Package,
};
use rhai::{AST, CallFnOptions, Dynamic, Engine, EvalAltResult, Map, Scope};
use serde::Serialize;

/// The sandbox limits every hook run is held to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum rhai operations per run.
    pub max_operations: u64,
    /// Maximum function call nesting.
    pub max_call_levels: usize,
    /// Maximum expression nesting (also for function bodies), checked at compile time.
    pub max_expr_depth: usize,
    /// Maximum string length in bytes.
    pub max_string_size: usize,
    /// Maximum array length.
    pub max_array_size: usize,
    /// Maximum map size.
    pub max_map_size: usize,
    /// Maximum intents one run may record.
    pub max_intents: usize,
    /// Wall-clock deadline for one run.
    pub deadline: Duration,
}

impl Limits {
    /// The limits provisio runs hooks with.
    pub const DEFAULT: Limits = Limits {
        max_operations: 100_000,
        max_call_levels: 16,
        max_expr_depth: 64,
        max_string_size: 64 * 1024,
        max_array_size: 10_000,
        max_map_size: 1_000,
        max_intents: 100,
        deadline: Duration::from_millis(100),
    };
}

/// A compiled hook script: its source name (for messages) and rhai AST.
#[derive(Debug)]
pub struct CompiledScript {
    /// The script's path as written in the rules (`workflows/job_title.rhai`).
    pub name: String,
    ast: AST,
}

impl CompiledScript {
    /// Whether the script defines `name` with exactly `arity` parameters.
    pub fn has_function(&self, name: &str, arity: usize) -> bool {
        self.ast
            .iter_functions()
            .any(|f| f.name == name && f.params.len() == arity)
    }

    /// The functions the script defines, as `(name, arity)`, sorted by name.
    pub fn functions(&self) -> Vec<(String, usize)> {
        let mut functions: Vec<(String, usize)> = self
            .ast
            .iter_functions()
            .map(|f| (f.name.to_string(), f.params.len()))
            .collect();
        functions.sort();
        functions
    }
}

/// A script that did not compile: rhai's message and where (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// rhai's description of the problem.
    pub message: String,
    /// 1-based line, when rhai knows it.
    pub line: Option<usize>,
    /// 1-based column, when rhai knows it.
    pub column: Option<usize>,
}

/// Compiles a hook script with the sandbox engine.
pub fn compile(name: &str, source: &str) -> Result<CompiledScript, CompileError> {
    ENGINE
        .compile(source)
        .map(|ast| CompiledScript {
            name: name.to_string(),
            ast,
        })
        .map_err(|err| CompileError {
            message: err.err_type().to_string(),
            line: err.position().line(),
            column: err.position().position(),
        })
}

/// What a hook asked for. The host validates each against the target schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "intent")]
pub enum Intent {
    /// Find the entity of this type whose natural key equals `key` (case-insensitive),
    /// create it if absent, and link the user to it.
    Link {
        /// Entity type (`JobTitle`).
        entity: String,
        /// Natural key value (the `JobTitle`'s Name).
        key: String,
    },
    /// Set a field of the user.
    Set {
        /// Field name.
        field: String,
        /// Value (a string, bool, integer or unit for "clear").
        value: HookValue,
    },
    /// A message for the provisioning log.
    Log {
        /// The message.
        message: String,
    },
}

/// A value passed to or from a hook.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum HookValue {
    /// No value.
    Null,
    /// Text.
    String(String),
    /// Boolean.
    Bool(bool),
    /// Integer.
    Int(i64),
}

impl HookValue {
    fn to_dynamic(&self) -> Dynamic {
        match self {
            HookValue::Null => Dynamic::UNIT,
            HookValue::String(s) => Dynamic::from(s.clone()),
            HookValue::Bool(b) => Dynamic::from(*b),
            HookValue::Int(i) => Dynamic::from(*i),
        }
    }

    fn from_dynamic(value: &Dynamic) -> Option<HookValue> {
        if value.is_unit() {
            Some(HookValue::Null)
        } else if let Ok(b) = value.as_bool() {
            Some(HookValue::Bool(b))
        } else if let Ok(i) = value.as_int() {
            Some(HookValue::Int(i))
        } else if value.is_string() {
            value.clone().into_string().ok().map(HookValue::String)
        } else {
            None
        }
    }
}

/// Why a hook run failed. No intent of a failed run is used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("hook {script}::{function} failed{}: {reason}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
pub struct HookError {
    /// Script name.
    pub script: String,
    /// Function called.
    pub function: String,
    /// 1-based line in the script, when known.
    pub line: Option<usize>,
    /// What went wrong, naming the limit when one was hit.
    pub reason: String,
    /// The limit hit, if that is why it failed.
    pub limit: Option<LimitKind>,
}

/// The sandbox limit a run hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// Too many operations.
    Operations,
    /// Too deep function calls.
    CallLevels,
    /// A string, array or map grew too large.
    DataSize,
    /// The wall-clock deadline passed.
    Deadline,
    /// Too many intents recorded.
    Intents,
}

impl LimitKind {
    /// A short name for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Operations => "operation limit",
            LimitKind::CallLevels => "call depth limit",
            LimitKind::DataSize => "data size limit",
            LimitKind::Deadline => "time limit",
            LimitKind::Intents => "intent limit",
        }
    }
}

/// Runs `function(user, before, after)` in `script` and returns the intents it recorded.
/// `user` is the entity's fields after mapping; `before` and `after` are the watched field's
/// values.
pub fn run_hook(
    script: &CompiledScript,
    function: &str,
    user: &BTreeMap<String, HookValue>,
    before: &HookValue,
    after: &HookValue,
) -> Result<Vec<Intent>, HookError> {
    let limits = Limits::DEFAULT;
    let mut user_map = Map::new();
    for (k, v) in user {
        user_map.insert(k.as_str().into(), v.to_dynamic());
    }
    let args = (
        Dynamic::from_map(user_map),
        before.to_dynamic(),
        after.to_dynamic(),
    );
    RUN.with(|run| {
        *run.borrow_mut() = RunState {
            deadline: Some(Instant::now() + limits.deadline),
            intents: Vec::new(),
            overflow: false,
        };
    });
    let mut scope = Scope::new();
    let result = ENGINE.call_fn_with_options::<Dynamic>(
        CallFnOptions::new().eval_ast(false).rewind_scope(true),
        &mut scope,
        &script.ast,
        function,
        args,
    );
    let state = RUN.with(|run| std::mem::take(&mut *run.borrow_mut()));
    let fail = |line: Option<usize>, reason: String, limit: Option<LimitKind>| HookError {
        script: script.name.clone(),
        function: function.to_string(),
        line,
        reason,
        limit,
    };
    if let Err(err) = result {
        let (line, reason, limit) = describe(&err, &limits);
        return Err(fail(line, reason, limit));
    }
    if state.overflow {
        return Err(fail(
            None,
            format!(
                "recorded more than {} intents (intent limit)",
                limits.max_intents
            ),
            Some(LimitKind::Intents),
        ));
    }
    Ok(state.intents)
}

/// The innermost error's line, a reason naming the limit, and the limit.
fn describe(err: &EvalAltResult, limits: &Limits) -> (Option<usize>, String, Option<LimitKind>) {
    if let EvalAltResult::ErrorInFunctionCall(_, _, inner, _) = err {
        return describe(inner, limits);
    }
    let line = err.position().line();
    let (reason, limit) = match err {
        EvalAltResult::ErrorTooManyOperations(_) => (
            format!(
                "exceeded {} operations (operation limit)",
                limits.max_operations
            ),
            Some(LimitKind::Operations),
        ),
        EvalAltResult::ErrorStackOverflow(_) => (
            format!(
                "exceeded {} nested calls (call depth limit)",
                limits.max_call_levels
            ),
            Some(LimitKind::CallLevels),
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => (
            format!("{what} grew too large (data size limit)"),
            Some(LimitKind::DataSize),
        ),
        EvalAltResult::ErrorTerminated(_, _) => (
            format!(
                "ran longer than {} ms (time limit)",
                limits.deadline.as_millis()
            ),
            Some(LimitKind::Deadline),
        ),
        other => (other.to_string(), None),
    };
    (line, reason, limit)
}

#[derive(Default)]
struct RunState {
    deadline: Option<Instant>,
    intents: Vec<Intent>,
    overflow: bool,
}

thread_local! {
    // Per-thread state of the run in progress: hooks run synchronously on the calling
    // thread, so the engine (shared by all threads) finds its run's intents and deadline here.
    static RUN: RefCell<RunState> = RefCell::new(RunState::default());
}

fn record(intent: Intent) {
    RUN.with(|run| {
        let mut run = run.borrow_mut();
        if run.intents.len() >= Limits::DEFAULT.max_intents {
            run.overflow = true;
        } else {
            run.intents.push(intent);
        }
    });
}

static ENGINE: LazyLock<Arc<Engine>> = LazyLock::new(|| Arc::new(build_engine(Limits::DEFAULT)));

fn build_engine(limits: Limits) -> Engine {
    let mut engine = Engine::new_raw();
    CorePackage::new().register_into_engine(&mut engine);
    LogicPackage::new().register_into_engine(&mut engine);
    BasicStringPackage::new().register_into_engine(&mut engine);
    MoreStringPackage::new().register_into_engine(&mut engine);
    BasicArrayPackage::new().register_into_engine(&mut engine);
    BasicMapPackage::new().register_into_engine(&mut engine);
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_strict_variables(true)
        .disable_symbol("eval");
    engine.on_progress(|ops| {
        // Reading the clock costs about as much as an operation: look every 16.
        if !ops.is_multiple_of(16) {
            return None;
        }
        let late = RUN.with(|run| {
            run.borrow()
                .deadline
                .is_some_and(|deadline| Instant::now() > deadline)
        });
        late.then(|| Dynamic::from("deadline"))
    });
    engine.register_fn("link", |entity: &str, key: &str| {
        record(Intent::Link {
            entity: entity.to_string(),
            key: key.to_string(),
        });
    });
    engine.register_fn("set", |field: &str, value: Dynamic| {
        let value =
            HookValue::from_dynamic(&value).unwrap_or_else(|| HookValue::String(value.to_string()));
        record(Intent::Set {
            field: field.to_string(),
            value,
        });
    });
    engine.register_fn("log", |message: &str| {
        record(Intent::Log {
            message: message.to_string(),
        });
    });
    engine
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(source: &str) -> Result<Vec<Intent>, HookError> {
        let script = compile("test.rhai", source).map_err(|e| HookError {
            script: "test.rhai".into(),
            function: "f".into(),
            line: e.line,
            reason: e.message,
            limit: None,
        })?;
        run_hook(
            &script,
            "f",
            &BTreeMap::from([("UserName".to_string(), HookValue::String("jane".into()))]),
            &HookValue::Null,
            &HookValue::String("Engineer".into()),
        )
    }

    #[test]
    fn records_intents_in_order() {
        let intents = run(r#"fn f(user, before, after) { link("JobTitle", after); log("linked " + user.UserName); }"#)
            .expect("runs");
        assert_eq!(
            intents,
            vec![
                Intent::Link {
                    entity: "JobTitle".into(),
                    key: "Engineer".into()
                },
                Intent::Log {
                    message: "linked jane".into()
                },
            ]
        );
    }

    #[test]
    fn endless_loop_hits_the_operation_limit() {
        let err = run("fn f(user, before, after) { let x = 0; loop { x += 1; } }").unwrap_err();
        assert_eq!(err.limit, Some(LimitKind::Operations), "{err}");
        assert!(err.to_string().contains("test.rhai::f"), "{err}");
    }

    #[test]
    fn runtime_errors_name_the_line() {
        let err =
            run("fn f(user, before, after) {\n  let x = 1;\n  x.no_such_method()\n}").unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
        assert_eq!(err.limit, None);
    }

    /// Running `script` fails on `limit`.
    fn assert_hits_limit(script: &str, limit: LimitKind) {
        let err = run(script).unwrap_err();
        assert_eq!(err.limit, Some(limit), "{err}");
    }

    #[test]
    fn deep_recursion_hits_the_call_depth_limit() {
        assert_hits_limit(
            "fn r(n) { r(n + 1) } fn f(user, before, after) { r(0) }",
            LimitKind::CallLevels,
        );
    }

    #[test]
    fn growing_string_hits_the_size_limit() {
        assert_hits_limit(
            r#"fn f(user, before, after) { let s = "x"; for i in 0..100 { s += s; } }"#,
            LimitKind::DataSize,
        );
    }

    #[test]
    fn growing_array_hits_the_size_limit() {
        assert_hits_limit(
            "fn f(user, before, after) { let a = []; a.pad(20000, 0); }",
            LimitKind::DataSize,
        );
    }

    #[test]
    fn growing_map_hits_the_size_limit() {
        assert_hits_limit(
            "fn f(user, before, after) { let m = #{}; for i in 0..1500 { m[i.to_string()] = i; } m.len() }",
            LimitKind::DataSize,
        );
    }

    #[test]
    fn slow_script_hits_the_time_limit() {
        // Few operations, each expensive: the operation limit is far away, the clock is not.
        let err = run(r#"fn f(user, before, after) {
            let a = [];
            a.pad(9000, "x");
            for i in 0..100000 { a.sort(); a.reverse(); }
        }"#)
        .unwrap_err();
        assert_eq!(err.limit, Some(LimitKind::Deadline), "{err}");
        assert!(err.reason.contains("time limit"), "{err}");
    }

    #[test]
    fn too_many_intents_hit_the_intent_limit() {
        let err =
            run(r#"fn f(user, before, after) { for i in 0..500 { log("x"); } }"#).unwrap_err();
        assert_eq!(err.limit, Some(LimitKind::Intents), "{err}");
    }

    #[test]
    fn eval_is_disabled() {
        let err = compile("t.rhai", r#"fn f(a, b, c) { eval("1") }"#).unwrap_err();
        assert!(err.message.contains("eval"), "{err:?}");
    }

    #[test]
    fn strict_variables_reject_undeclared_names_at_compile_time() {
        let err = compile("t.rhai", "fn f(a, b, c) { nope + 1 }").unwrap_err();
        assert!(err.message.contains("nope"), "{err:?}");
    }

    #[test]
    fn deep_expressions_are_refused_at_compile_time() {
        let source = format!(
            "fn f(a, b, c) {{ {}1{} }}",
            "(".repeat(200),
            ")".repeat(200)
        );
        assert!(compile("t.rhai", &source).is_err());
    }

    #[test]
    fn arity_is_reported() {
        let script = compile("t.rhai", "fn f(a, b, c) { } fn g(a) { }").expect("compiles");
        assert!(script.has_function("f", 3));
        assert!(!script.has_function("g", 3));
        assert_eq!(
            script.functions(),
            vec![("f".to_string(), 3), ("g".to_string(), 1)]
        );
    }
}
