using System.Text;
using Airlock.Inspection.Tests.Rules;

namespace Airlock.Inspection.Tests.Secrets;

/// <summary>
/// The per-hit gates of the built-in generic rules (<see cref="HitGate"/>) are a pure speed-up: with and without them
/// the built-in pack reports exactly the same findings (rule, start, length) on the test corpora, on every rule
/// example, and on generated assignments built to probe each boundary of each gate (value lengths at the limits,
/// quotes, escapes, CRLF, tabs, non-ASCII and case-folding characters, lines past the window limits).
/// </summary>
public class AssignmentGateTests
{
    private static readonly string[] s_gatedRules = ["generic-yaml-secret", "generic-env-assignment", "generic-api-key", "authorization-bearer-header"];

    private static readonly string[] s_indents = ["", "  ", "\t", "    ", "export ", "  export\t", "- ", "# "];

    private static readonly string[] s_names =
    [
        "api_key", "API_KEY", "apiKey", "encryption_key", "client.secret", "apikey", "token", "TOKEN", "credentials", "CREDENTIALS",
        "subscription_key", "password", "PASSWORD", "passwd", "PWD", "DB_PASSPHRASE", "AUTH_TOKEN", "SECRET_KEY_BASE", "monkey",
        "keyStore", "secretName", "x-token", "access-token", "secret-key", "deploy.key", "GITHUB_AUTH", "MY_SECRET_VALUE_X",
        "very_long_prefix_that_runs_past_the_name_limits_of_every_generic_rule_token", "token_value_with_more_than_twenty_chars_after",
        "settings[\"token\"]", "cfg['api_key']", "key.id", "SECRET_KEY_ID", "token_type", "Authorization", "authorization", "AUTHORIZATION",
        "headers.Authorization", "\"Authorization\"", "api\u212Aey", "\u017Fecret", "K\u212AY_TOKEN", "tökén", "clé_secret", "SECRET\u00C9",
        "bearer_token", "refresh-token", "session.secret", "aws_secret_access_key", "TOKEN_", "_KEY", "KEY",
    ];

    private static readonly string[] s_operators =
    [
        ": ", ":", ":\t", ":  ", " : ", " = ", "=", "\t=\t", "  =  ", " := ", ":=", " => ", "=>", "\": ", "']: ", "\"] = ", "==", "= =",
        " ", " -> ", "(", ",", ": Bearer ", "=Bearer\t", ": bearer  ", ": \"Bearer ", "=bearer ", ":     ", "=      ", ":\t\t",
    ];

    private static readonly string[] s_quotes = ["", "", "\"", "'", "`", "r\"", "@\"", "b'", "u\"", "f\"", "\\\""];

    private static readonly string[] s_tails = ["", "", "", " ", "\t", "  \t", " \r", ",", ";", " # note", ")", "\"", "'"];

    private static readonly string[] s_newlines = ["\n", "\n", "\n", "\r\n", "\r\r\n", "\n\n"];

    private static readonly int[] s_lengths = [6, 10, 11, 12, 13, 16, 19, 20, 21, 24, 32, 40, 64, 127, 128, 129, 255, 256, 257, 300, 998, 999, 1000, 1001, 1002];

    private const string ValueChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    // Characters inside or next to the value sets of the four rules, and some outside all of them.
    private const string OddChars = "_./+~=!@#%^&*:-$?{}[]()<>|,;\\\"'` \té中\u212A\u017F";

    [Fact]
    public void Every_gated_built_in_rule_has_its_gate()
    {
        var pack = RulePack.LoadBuiltIn();
        foreach (var id in s_gatedRules)
        {
            Assert.True(HitGate.For(pack.FindRule(id)!) is not null, $"{id} has no gate: its regex changed without the gate (AssignmentGates.cs)");
        }

        Assert.Null(HitGate.For(pack.FindRule("generic-password")!));
        Assert.Null(HitGate.For(pack.FindRule("github-pat")!));
    }

    [Fact]
    public void An_organization_rule_with_the_same_pattern_gets_no_gate()
    {
        var builtIn = RulePack.LoadBuiltIn().FindRule("generic-yaml-secret")!;
        var pack = RulePack.Parse("[[rules]]\nid = \"org-yaml\"\nregex = '''" + builtIn.NetPattern + "'''\nkeywords = [\"token\"]\nsecretGroup = 1\n", "org.toml");

        Assert.Null(HitGate.For(pack.FindRule("org-yaml")!));
    }

    [Fact]
    public void Gated_and_ungated_scans_agree_on_generated_assignments()
    {
        var text = GeneratedAssignments(new Random(20261124), lines: 12_000);

        var (gated, plain) = ScanBoth(text);

        foreach (var rule in s_gatedRules)
        {
            Assert.True(plain.Count(m => m.StartsWith(rule + "@", StringComparison.Ordinal)) >= 20, $"the input does not exercise {rule}");
        }

        Assert.Equal(plain, gated);
    }

    [Fact]
    public void Gated_and_ungated_scans_agree_on_the_corpora_and_every_rule_example()
    {
        var corpus = Directory.GetFiles(CorpusDirectory, "*.txt").Order(StringComparer.Ordinal).Select(File.ReadAllText);
        var examples = RuleExamples.TruePositives.Concat(RuleExamples.FalsePositives).Select(e => e.Text);
        var found = 0;
        foreach (var text in corpus.Concat(examples))
        {
            var (gated, plain) = ScanBoth(text);
            Assert.Equal(plain, gated);
            found += plain.Count;
        }

        Assert.True(found > 200, $"only {found} findings: the examples no longer exercise the rules");
    }

    [Fact]
    public void Gated_and_ungated_scans_agree_on_lines_longer_than_the_windows()
    {
        // Lines longer than the look-behind (256), the window radius (512) and the long-match window (8 Ki), with
        // assignments at their start, middle and end, and many keyword hits on one line.
        var random = new Random(7);
        var sb = new StringBuilder();
        for (var line = 0; line < 40; line++)
        {
            var padding = random.Next(3) switch { 0 => 300, 1 => 700, _ => 9000 };
            for (var part = 0; part < 4; part++)
            {
                sb.Append(Assignment(random));
                sb.Append(' ', random.Next(1, 3));
                for (var i = 0; i < padding / 4; i++)
                {
                    sb.Append(random.Next(20) == 0 ? " token " : ValueChars[random.Next(ValueChars.Length)].ToString());
                }
            }

            sb.Append(Assignment(random)).Append('\n');
        }

        var (gated, plain) = ScanBoth(sb.ToString());

        Assert.NotEmpty(plain);
        Assert.Equal(plain, gated);
    }

    [Theory]
    [InlineData("generic-yaml-secret", "token: Zx9Qw3Er5Ty7Ui1Op\n", 7, 17)]
    [InlineData("generic-yaml-secret", "token: \tZx9Qw3Er5Ty7Ui1Op \t\r\n", 8, 17)]
    [InlineData("generic-yaml-secret", "token_for_svc.x: Zx9Qw3Er5Ty7", 17, 12)]
    [InlineData("generic-yaml-secret", "token:Zx9Qw3Er5Ty7Ui1Op\n", -1, 0)] // no blank after the colon
    [InlineData("generic-yaml-secret", "token: Zx9Qw3Er5Ty\n", -1, 0)] // 11 characters
    [InlineData("generic-yaml-secret", "token: Zx9Qw3Er5Ty7Ui1Op # note\n", -1, 0)]
    [InlineData("generic-yaml-secret", "token: Zx9Qw3Er5Ty7Ui1Op\r \n", -1, 0)]
    [InlineData("generic-env-assignment", "API_TOKEN = \"=Zx9Qw3Er5Ty7:1\" \r\n", 13, 15)]
    [InlineData("generic-env-assignment", "api_TOKEN=Zx9Qw3Er5Ty7Ui1Op\n", 10, 17)] // the gate reads after the keyword only
    [InlineData("generic-env-assignment", "Token=Zx9Qw3Er5Ty7Ui1Op\n", -1, 0)] // lower case keyword
    [InlineData("generic-env-assignment", "TOKEN_x=Zx9Qw3Er5Ty7Ui1Op\n", -1, 0)]
    [InlineData("generic-api-key", "token\"] := r\"Zx9Qw3Er5Ty7Ui1Op\"", 13, 17)]
    [InlineData("generic-api-key", "token =>    `Zx9Qw3Er5Ty7Ui1Op'", 13, 17)]
    [InlineData("generic-api-key", "token     = \"Zx9Qw3Er5Ty7Ui1Op\"", -1, 0)] // five blanks before the operator
    [InlineData("generic-api-key", "token\"\"\"= \"Zx9Qw3Er5Ty7Ui1Op\"", -1, 0)] // three quotes
    [InlineData("generic-api-key", "token = \"Zx9Qw3Er5Ty7Ui1Op", -1, 0)] // no closing quote
    [InlineData("generic-api-key", "token == \"Zx9Qw3Er5Ty7Ui1Op\"", -1, 0)]
    public void Gates_read_the_assignment_after_the_keyword(string ruleId, string text, int secretStart, int secretLength)
    {
        var gate = HitGate.For(RulePack.LoadBuiltIn().FindRule(ruleId)!)!;
        var keyword = text.IndexOf("token", StringComparison.OrdinalIgnoreCase);
        var lineEnd = text.IndexOf('\n', StringComparison.Ordinal) is var n and >= 0 ? n : text.Length;

        var verdict = gate.Check(text, keyword, keyword + 5, lineEnd, text.Length, out var start, out var length);

        Assert.Equal(secretStart < 0 ? GateVerdict.Dead : GateVerdict.Secret, verdict);
        if (secretStart >= 0)
        {
            Assert.Equal((secretStart, secretLength), (start, length));
        }
    }

    [Theory]
    [InlineData("Bearer Zx9Qw3Er5Ty7Ui1Op2As", true)]
    [InlineData("bearer\t\tZx9Qw3Er5Ty7Ui1Op2A.", true)]
    [InlineData("Bearer Zx9Qw3Er5Ty7Ui1Op2A", false)] // 19 characters
    [InlineData("Bearer ${token}", false)]
    [InlineData("BearerZx9Qw3Er5Ty7Ui1Op2As", false)]
    public void The_bearer_gate_needs_a_blank_and_twenty_token_characters(string text, bool live)
    {
        var gate = HitGate.For(RulePack.LoadBuiltIn().FindRule("authorization-bearer-header")!)!;

        Assert.Equal(live ? GateVerdict.Live : GateVerdict.Dead, gate.Check(text, 0, 6, text.Length, text.Length, out _, out _));
    }

    private static (List<string> Gated, List<string> Plain) ScanBoth(string text)
    {
        var gated = Scanners.Value.Gated.ScanAll(text);
        var plain = Scanners.Value.Plain.ScanAll(text);
        return (All(gated), All(plain));
    }

    private static readonly Lazy<(SecretScanner Gated, SecretScanner Plain)> Scanners = new(() =>
    {
        var pack = RulePack.LoadBuiltIn();
        return (new SecretScanner(pack), new SecretScanner(pack, new SecretScannerOptions { HitGates = false }));
    });

    private static List<string> All(List<TextMatch> matches) =>
        [.. matches.Select(m => $"{m.RuleId}@{m.Start}+{m.Length}").Order(StringComparer.Ordinal)];

    private static string CorpusDirectory => Path.Combine(Path.GetDirectoryName(RulePackFixture.RulesFilePath)!, "..", "test", "Airlock.Inspection.Tests", "Rules", "Corpus");

    // Assignments in YAML, .env, code and header shapes, several per line at times. FAKE values only.
    private static string GeneratedAssignments(Random random, int lines)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < lines; i++)
        {
            sb.Append(s_indents[random.Next(s_indents.Length)]);
            var parts = random.Next(4) == 0 ? 2 : 1;
            for (var p = 0; p < parts; p++)
            {
                sb.Append(Assignment(random));
                if (p + 1 < parts)
                {
                    sb.Append(random.Next(2) == 0 ? ", " : "; ");
                }
            }

            sb.Append(s_tails[random.Next(s_tails.Length)]);
            sb.Append(s_newlines[random.Next(s_newlines.Length)]);
        }

        return sb.ToString();
    }

    private static string Assignment(Random random)
    {
        var name = s_names[random.Next(s_names.Length)];
        var op = s_operators[random.Next(s_operators.Length)];
        var quote = s_quotes[random.Next(s_quotes.Length)];
        var length = s_lengths[random.Next(s_lengths.Length)];
        var value = new StringBuilder(length);
        var odd = random.Next(3) == 0;
        for (var c = 0; c < length; c++)
        {
            value.Append(odd && random.Next(12) == 0 ? OddChars[random.Next(OddChars.Length)] : ValueChars[random.Next(ValueChars.Length)]);
        }

        if (random.Next(6) == 0)
        {
            value.Append(random.Next(2) == 0 ? "==" : "."); // base64 padding, a bearer token's final dot
        }

        var close = quote.Length == 0 ? "" : random.Next(8) == 0 ? "'" : quote[^1..];
        return name + op + quote + value + close;
    }
}
