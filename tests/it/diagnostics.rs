//! Snapshots of what `check` prints for malformed formulas: one named insta
//! snapshot per case (`snapshots/it__diagnostics__<name>.snap`), plus the
//! line, column and code of the first diagnostic asserted in code, so a
//! snapshot accepted by mistake cannot hide a wrong position.

use autoscale_sim::formula::diag::{Code, Diagnostic, LineIndex, render_to_string};
use autoscale_sim::formula::{Formula, MAX_BYTES, MAX_DEPTH, MAX_STATEMENTS};

use crate::support;

/// The diagnostics `check` reports for `source`: the syntax or limit error
/// that stops compilation, or everything the checker found.
fn diagnostics(source: &str) -> Vec<Diagnostic> {
    match Formula::compile(source) {
        Ok(formula) => formula.diagnostics().to_vec(),
        Err(d) => vec![d],
    }
}

/// Checks the first diagnostic's code and 1-based line and column, then
/// snapshots the rendering of all of them.
fn case(name: &str, source: &str, code: Code, line: usize, column: usize) {
    let diags = diagnostics(source);
    let first = diags.first().unwrap_or_else(|| panic!("{name}: {source:?} has no diagnostic"));
    assert_eq!(first.code, code, "{name}: code of {first:?}");
    assert_eq!(
        LineIndex::new(source).line_col(source, first.span.start),
        (line, column),
        "{name}: position of {first:?}"
    );
    let text = render_to_string("case.formula", source, &diags);
    // The whole source goes into the snapshot's header (shortened when
    // huge), so a reviewer sees what the carets point into.
    let shown = match source.len() {
        0..=300 => source.to_owned(),
        _ => format!("{}…", &source[..source.floor_char_boundary(300)]),
    };
    insta::with_settings!({ description => shown, omit_expression => true }, {
        insta::assert_snapshot!(name, text);
    });
}

macro_rules! cases {
    ($($name:ident: $source:expr => $code:ident at $line:literal:$column:literal;)*) => {
        $(
            #[test]
            fn $name() {
                case(stringify!($name), &$source, Code::$code, $line, $column);
            }
        )*
    };
}

/// A formula of `$TargetDedicatedNodes = 1;` lines one byte over the limit.
fn too_long() -> String {
    let line = "$TargetDedicatedNodes = 1;\n";
    let mut source = line.repeat(MAX_BYTES / line.len() + 1);
    source.truncate(MAX_BYTES + 1);
    source
}

/// One statement more than the limit, each on its own line.
fn too_many_statements() -> String {
    (0..=MAX_STATEMENTS).map(|i| format!("$v{i} = {i};\n")).collect()
}

/// `$x = -(-(...1))` one level deeper than the limit.
fn too_deep() -> String {
    format!("$x = 1;\n$y = {}$x;\n", "-".repeat(MAX_DEPTH))
}

const DOCS_FORMULA: &str = "\
// From the docs: scale on pending tasks.
$samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 5);
$tasks = $samples < 70 ? max(0, $PendingTasks.GetSample(1)) : max($PendingTasks.GetSample(1), avg($PendingTasks.GetSample(TimeInterval_Minute * 5));
$targetVMs = $tasks > 0 ? $tasks : max(0, $TargetDedicatedNodes / 2);
$TargetDedicatedNodes = max(0, min($targetVMs, 25));
";

cases! {
    // Syntax errors: the service refuses these before evaluating.
    syntax_missing_operand: "$x = 1 +;" => Syntax at 1:9;
    syntax_missing_operand_at_end: "$TargetDedicatedNodes = 2 *" => Syntax at 1:28;
    syntax_unclosed_paren: "$x = (1 + 2;" => Syntax at 1:12;
    syntax_unclosed_call_at_end: "$x = max(1, (2 + 3)" => Syntax at 1:20;
    syntax_trailing_comma_in_call: "$x = avg(1, 2,);" => Syntax at 1:15;
    syntax_empty_assignment: "$x = ;" => Syntax at 1:6;
    syntax_block_comment: "/* scale up */\n$TargetDedicatedNodes = 1;" => Syntax at 1:1;
    syntax_unexpected_character: "$x = 1 @ 2;" => Syntax at 1:8;
    syntax_unterminated_string: "$t = time(\"2016-10-13T19:18:47Z);\n$x = 1;" => Syntax at 1:11;
    syntax_missing_semicolon: "$x = 1\n$y = 2" => Syntax at 2:1;
    syntax_ternary_without_colon: "$x = $y > 1 ? 2;" => Syntax at 1:16;
    syntax_assign_to_expression: "$x + 1 = 2;" => Syntax at 1:8;
    syntax_statement_starts_with_operator: "$x = 1;\n* 2;" => Syntax at 2:1;
    syntax_member_on_number_literal: "$x = 1.hour;" => Syntax at 1:8;
    syntax_error_on_line_3: DOCS_FORMULA => Syntax at 3:148;
    syntax_error_after_crlf_lines: "$a = 1;\r\n$b = 2;\r\n  $c = (3 + ;\r\n" => Syntax at 3:13;
    syntax_columns_count_characters: "$name = \"größe\"; $y = 1 +;" => Syntax at 1:26;
    syntax_non_ascii_name: "$x = 1;\n$größe = 2;" => Syntax at 2:4;
    // Limits.
    limit_too_long: too_long() => TooLong at 304:12;
    limit_too_many_statements: too_many_statements() => TooManyStatements at 101:1;
    limit_too_deep: too_deep() => TooDeep at 2:106;
    // Names.
    undefined_symbol: "$TargetDedicatedNodes = $Foo;" => UndefinedSymbol at 1:25;
    undefined_service_variable_case_typo: "$TargetDedicatedNodes = $targetDedicatedNodes + 1;" => UndefinedSymbol at 1:25;
    undefined_metric_case_typo: "$x = $pendingTasks.GetSample(1);" => UndefinedSymbol at 1:6;
    undefined_metric_without_dollar: "$x = PendingTasks.GetSample(1);" => UndefinedSymbol at 1:6;
    undefined_service_variable_without_dollar: "$x = CurrentDedicatedNodes + 1;" => UndefinedSymbol at 1:6;
    undefined_interval_case_typo: "$x = 5 * TimeInterval_minute;" => UndefinedSymbol at 1:10;
    undefined_on_line_5: "$a = 1;\n$b = 2;\n\n// the next line reads a name never assigned\n   $c = $a + $b * $d;" => UndefinedSymbol at 5:19;
    unknown_function: "$x = average(1, 2);" => UnknownFunction at 1:6;
    unknown_function_case_typo: "$x = Avg(1, 2);" => UnknownFunction at 1:6;
    unknown_method: "$x = $CPUPercent.GetSamples(1);" => UnknownMethod at 1:18;
    unknown_method_case_typo: "$x = $CPUPercent.getSample(1);" => UnknownMethod at 1:18;
    unknown_member: "$x = time().hours;" => UnknownMember at 1:13;
    method_on_non_metric: "$x = time().GetSample(1);" => UnknownMember at 1:13;
    read_only_service_variable: "$CurrentDedicatedNodes = 3;" => ReadOnly at 1:1;
    read_only_metric: "$x = 1;\n$PendingTasks = $x;" => ReadOnly at 2:1;
    read_only_constant: "TimeInterval_Hour = 2;" => ReadOnly at 1:1;
    // Types.
    metric_as_value: "$x = $PendingTasks + 1;" => MetricAsValue at 1:6;
    timestamp_plus_double: "$x = time() + 5;" => OperatorType at 1:6;
    timestamp_minus_interval: "$x = time() - TimeInterval_Hour;" => OperatorType at 1:6;
    double_plus_interval: "$x = 5 + TimeInterval_Minute;" => OperatorType at 1:6;
    negate_string: "$x = -\"abc\";" => OperatorType at 1:6;
    compare_double_with_string: "$x = 1 < \"2\";" => OperatorType at 1:6;
    argument_type: "$x = avg(time());" => ArgumentType at 1:6;
    argument_count: "$v = $CPUPercent.GetSample(3);\n$x = percentile($v);" => ArgumentType at 2:6;
    method_argument_type: "$x = $CPUPercent.GetSample(\"10\");" => ArgumentType at 1:6;
    deallocation_not_an_option: "$NodeDeallocationOption = 3;" => DeallocationValue at 1:27;
    deallocation_option_elsewhere: "$x = requeue;" => DeallocationValue at 1:6;
    ternary_branch_types: "$x = 1;\n$y = $x > 0 ? 1 : time();" => TernaryType at 2:6;
    ternary_condition_type: "$x = time() ? 1 : 2;" => TernaryType at 1:6;
    target_assigned_a_timestamp: "$TargetDedicatedNodes = time();" => AssignType at 1:25;
    several_errors_in_order: "$a = 1;\n$b = $a + $zz;\n$c = Max(1);\n$TargetDedicatedNodes = time();" => UndefinedSymbol at 2:11;
}

/// Every case above reports exactly the diagnostics shown, and none of the
/// errors in this list cascade into a second one.
#[test]
fn one_mistake_one_diagnostic() {
    for source in [
        "$x = PendingTasks.GetSample(1);",
        "$x = $y.GetSample(1);",
        "$x = $y.hour;",
        "$x = time().hours.minute;",
        "$x = avg($y) + 1;",
        "$x = $PendingTasks + 1;",
    ] {
        assert_eq!(diagnostics(source).len(), 1, "{source:?}: {:#?}", diagnostics(source));
    }
}

/// The service's side of some of the same mistakes: `eval` reports them
/// under the service's code with `Line L, Col C: ...`.
#[test]
fn eval_reports_a_syntax_error_with_its_position() {
    let source = "$a = 1;\r\n$b = 2;\r\n  $c = (3 + ;\r\n";
    let (code, message) = support::failure(source, &support::empty_context());
    assert_eq!(code, "AutoScalingFormulaSyntaxError");
    assert_eq!(message, "Line 3, Col 13: unexpected `;`, expected an expression");
    let e = support::evaluate(source, &support::empty_context()).unwrap_err();
    assert_eq!(
        e.results.to_string(),
        "$TargetDedicatedNodes=0;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue"
    );
}

#[test]
fn eval_reports_a_checker_error_when_it_is_reached() {
    let source = "$TargetDedicatedNodes = 1;\n$a = 1;\n   $c = $a + $PendingTasks;\n$TargetDedicatedNodes = 3;";
    let e = support::evaluate(source, &support::empty_context()).unwrap_err();
    assert_eq!(e.code.as_str(), "AutoScalingFormulaEvaluationError");
    assert_eq!(e.message(), "The specified auto-scaling formula has evaluation error");
    assert_eq!(
        e.values(),
        [(
            "Message".to_owned(),
            "Line 3, Col 14: $PendingTasks is a metric, not a number: read it through a method".to_owned()
        )]
    );
    // The statements before the error ran; the ones after did not.
    assert_eq!(
        e.results.to_string(),
        "$TargetDedicatedNodes=1;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;$a=1"
    );
}

#[test]
fn eval_reports_an_undefined_symbol_like_the_service() {
    let ctx = support::context(r#"{"pool":{"target_dedicated":2}}"#);
    let (code, message) = support::failure("$TargetDedicatedNodes = $targetDedicatedNodes + 1;", &ctx);
    assert_eq!(code, "AutoScalingFormulaEvaluationError");
    assert_eq!(message, "Line 1, Col 25: Undefined symbol: $targetDedicatedNodes");
}

#[test]
fn eval_reports_the_limits() {
    let ctx = support::empty_context();
    for source in [too_long(), too_many_statements()] {
        let e = support::evaluate(&source, &ctx).unwrap_err();
        assert_eq!(e.code.as_str(), "AutoScalingFormulaTooLong");
        assert!(e.location.is_none());
        assert!(!e.values()[0].1.is_empty());
    }
    let (code, message) = support::failure(&too_deep(), &ctx);
    assert_eq!(code, "AutoScalingFormulaSyntaxError");
    assert_eq!(message, "Line 2, Col 106: The expression is nested more than 100 levels deep");
}

/// `explain E0100` says what the language reference's table of checker
/// codes says, for every code and no other.
#[test]
fn every_error_code_is_explained_as_the_language_reference_says() {
    let reference = include_str!("../../docs/formula-language.md");
    let rows: Vec<String> = reference.lines().filter(|l| l.starts_with("| E0")).map(str::to_owned).collect();
    let explained: Vec<String> = Code::ALL
        .iter()
        .map(|c| {
            let (meaning, example) = c.explain();
            format!("| {} | {meaning} | {} |", c.id(), example.map(|e| format!("`{e}`")).unwrap_or_default())
        })
        .collect();
    assert_eq!(rows, explained.iter().map(|r| r.replace("|  |", "| |")).collect::<Vec<_>>());
    assert_eq!(Code::from_id("e0205"), Some(Code::AssignType));
    assert_eq!(Code::from_id("E0999"), None);
}
