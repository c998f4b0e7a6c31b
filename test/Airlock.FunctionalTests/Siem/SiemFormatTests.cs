using System.Text;
using Airlock.Core.Audit;
using Airlock.Gateway.Siem;

namespace Airlock.FunctionalTests.Siem;

/// <summary>Escaping rules of the syslog and CEF encoders, on hostile field values.</summary>
public sealed class SiemFormatTests
{
    private static readonly AuditRecord Hostile = new()
    {
        RequestId = "req_1",
        Time = new DateTimeOffset(2026, 11, 24, 8, 0, 0, TimeSpan.Zero),
        Door = "messages",
        Operation = "messages",
        User = "eve|x=1\\y\"]z",
        Team = "a=b",
        Outcome = AuditOutcome.Blocked,
        Status = 400,
        ErrorType = "blocked:line\nbreak",
        Findings = [new AuditFinding("aws-access-key", "secret", "messages[0].content", "block", "ab12")],
    };

    [Fact]
    public void Cef_escapes_backslash_and_equals_in_extensions_and_pipe_in_headers()
    {
        var cef = CefFormatter.Format(Hostile with { Tool = new ToolEventDetails { HookEvent = "PreToolUse", ToolName = "a|b" } });
        // Header: the name field carries the tool name with its pipe escaped; 7 unescaped pipes separate 8 fields.
        Assert.StartsWith(@"CEF:0|Airlock|Airlock Gateway|1|request:blocked|request a\|b blocked|8|", cef, StringComparison.Ordinal);
        Assert.Contains(@"suser=eve|x\=1\\y""]z", cef, StringComparison.Ordinal);
        Assert.Contains(@"cs1=a\=b", cef, StringComparison.Ordinal);
        Assert.Contains(@"reason=blocked:line\nbreak", cef, StringComparison.Ordinal);
        Assert.Contains("cs5=aws-access-key", cef, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', cef);
    }

    [Fact]
    public void Syslog_structured_data_escapes_quote_backslash_and_bracket()
    {
        var message = Encoding.UTF8.GetString(SyslogFormatter.Format(Hostile, facility: 13, cef: false));
        Assert.StartsWith("<108>1 2026-11-24T08:00:00.000000Z ", message, StringComparison.Ordinal); // 13*8 + warning(4)
        Assert.Contains(@"user=""eve|x=1\\y\""\]z""", message, StringComparison.Ordinal);
        Assert.Contains(@"finding_rules=""aws-access-key""", message, StringComparison.Ordinal);
        // The finding's keyed hash is in the JSON payload, never its value (the record has none).
        Assert.Contains("\"value_hash\":\"ab12\"", message, StringComparison.Ordinal);
    }
}
