using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Airlock.Inspection.Tests.Rules;
using Tomlyn;
using Tomlyn.Model;

namespace Airlock.Inspection.Tests.Secrets;

/// <summary>
/// The pre-parsed built-in pack (<c>src/Airlock.Inspection/Secrets/BuiltInRuleData.g.cs</c>) is generated from
/// <c>rules/secrets.toml</c> by <see cref="BuiltInRuleDataWriter"/>. These tests prove it is exactly the TOML (same
/// text as a fresh generation, and rule by rule the same fields, keywords, allowlists and companions as the parsed
/// pack), and that scanning with the rules a selector picks for a text finds what the whole pack finds.
/// Regenerate after editing the TOML: <c>scripts/generate-rule-data.sh</c>.
/// </summary>
public sealed class BuiltInRuleDataTests
{
    [Fact]
    public void The_pre_parsed_form_is_generated_from_the_current_toml()
    {
        var expected = BuiltInRuleDataWriter.Generate(File.ReadAllBytes(RulePackFixture.RulesFilePath), RulePackFixture.BuiltIn);
        var path = BuiltInRuleDataWriter.OutputPath;
        if (Environment.GetEnvironmentVariable("AIRLOCK_WRITE_RULE_DATA") == "1")
        {
            File.WriteAllText(path, expected, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        }
        var actual = File.ReadAllText(path).ReplaceLineEndings("\n");
        Assert.True(
            string.Equals(expected, actual, StringComparison.Ordinal),
            "BuiltInRuleData.g.cs is stale: rules/secrets.toml changed. Run scripts/generate-rule-data.sh and commit the result.");
        Assert.True(BuiltInRuleSelector.PreParsedIsCurrent);
    }

    [Fact]
    public void Every_rule_built_from_the_pre_parsed_form_equals_the_rule_parsed_from_toml()
    {
        var document = BuiltInRuleData.Document();
        var tables = new TomlTableArray();
        for (var i = 0; i < BuiltInRuleData.Rules.Length; i++)
        {
            tables.Add(BuiltInRuleData.Rule(i));
        }
        document["rules"] = tables;
        var preParsed = RulePackReader.ReadParsed(document, RulePack.BuiltInSourceName, isBuiltIn: true, () => "x");
        var parsed = RulePackFixture.BuiltIn;

        Assert.Equal(parsed.Rules.Count, preParsed.Rules.Count);
        Assert.Equal(parsed.Rules.Count, BuiltInRuleData.Rules.Length);
        for (var i = 0; i < parsed.Rules.Count; i++)
        {
            Assert.Equal(Describe(parsed.Rules[i]), Describe(preParsed.Rules[i]));
            Assert.Equal(Describe(BuiltInRuleInfo.From(parsed.Rules[i])), Describe(BuiltInRuleData.Rules[i]));
        }
        Assert.Equal(parsed.GlobalAllowlists.Select(Describe), preParsed.GlobalAllowlists.Select(Describe));
    }

    [Fact]
    public void A_selection_finds_what_the_whole_pack_finds_on_every_example()
    {
        var selector = new BuiltInRuleSelector(_ => true);
        Assert.True(selector.UsesPreParsedForm);
        var whole = new SecretScanner(RulePackFixture.BuiltIn);
        var examples = RuleExamples.TruePositives.Concat(RuleExamples.FalsePositives).ToList();
        Assert.True(examples.Count > 400);
        var selectedRules = 0;
        foreach (var example in examples)
        {
            var expected = Findings(whole, example.Text);
            var pack = selector.RulesFor(example.Text);
            var actual = pack is null ? "" : Findings(new SecretScanner(pack), example.Text);
            Assert.True(expected == actual, $"{example.RuleId}: whole pack [{expected}] vs selection [{actual}]");
            selectedRules += pack?.Rules.Count ?? 0;
        }
        // The point of selecting: an example needs a handful of the ~250 rules.
        Assert.True(selectedRules < examples.Count * 20, $"{selectedRules} rules built for {examples.Count} examples");
    }

    [Fact]
    public void Text_without_a_keyword_selects_nothing_and_a_private_key_selects_its_rule()
    {
        var selector = new BuiltInRuleSelector(r => r.Identifiable);
        Assert.Null(selector.RulesFor("package main\nfunc main() { println(\"hello\") }\n"));
        var key = "notes\n-----BEGIN RSA PRIVATE KEY-----\n" + string.Concat(Enumerable.Repeat("MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n", 4)) + "-----END RSA PRIVATE KEY-----\n";
        var pack = selector.RulesFor(key);
        Assert.NotNull(pack);
        Assert.Contains("private-key-rsa", pack.Rules.Select(r => r.Id));
        Assert.True(pack.Rules.Count < 10);
        Assert.Same(pack, selector.RulesFor(key));
        Assert.Equal(pack.Rules.Select(r => r.Id), selector.RuleIdsFor(key));
    }

    [Fact]
    public void The_fallback_on_the_parsed_toml_selects_the_same_rules()
    {
        static bool Wanted(BuiltInRuleInfo r) => r.Category == FindingCategory.Secret && (r.Identifiable || r.Confidence >= Confidence.Medium);
        var fast = new BuiltInRuleSelector(Wanted, preParsed: true);
        var slow = new BuiltInRuleSelector(Wanted, preParsed: false);
        Assert.False(slow.UsesPreParsedForm);
        Assert.Equal(slow.Keywords, fast.Keywords);
        foreach (var example in RuleExamples.TruePositives)
        {
            Assert.Equal(slow.RuleIdsFor(example.Text), fast.RuleIdsFor(example.Text));
        }
    }

    private static string Findings(SecretScanner scanner, string text)
    {
        var results = new List<TextMatch>();
        scanner.Scan(text, results);
        return string.Join("; ", results.OrderBy(m => m.Start).ThenBy(m => m.RuleId, StringComparer.Ordinal).Select(m => $"{m.RuleId}@{m.Start}+{m.Length}"));
    }

    private static string Describe(BuiltInRuleInfo r) => string.Join(
        " | ", r.Id, string.Join(',', r.Keywords), r.Category, r.Confidence, r.Identifiable, r.SkipReport, string.Join(',', r.RequiredIds));

    private static string Describe(SecretRule r) => string.Join(
        " | ",
        r.Id, r.Description, r.Category, r.Confidence, r.Identifiable, string.Join(',', r.Keywords), string.Join(',', r.Tags),
        r.SecretGroup, r.Entropy?.ToString("R", CultureInfo.InvariantCulture) ?? "-", r.NetPattern ?? "-", r.Path?.ToString() ?? "-",
        string.Join(" / ", r.Allowlists.Select(Describe)), r.Validator ?? "-",
        string.Join(',', r.Required.Select(q => $"{q.Id}:{q.WithinLines}:{q.WithinColumns}")), r.SkipReport, r.Source, r.IsBuiltIn,
        r.KeywordAnchor?.ToString(CultureInfo.InvariantCulture) ?? "-", r.KeywordAssignment, r.HasNamedGroups, r.HasUnboundedRepeat);

    private static string Describe(RuleAllowlist a) => string.Join(
        " ; ",
        a.Description ?? "-", a.Condition, a.RegexTarget, string.Join(',', a.Regexes.Select(x => x.ToString())),
        string.Join(',', a.StopWords), string.Join(',', a.Paths.Select(x => x.ToString())), string.Join(',', a.TargetRules));
}

/// <summary>Writes <c>BuiltInRuleData.g.cs</c>: the TOML document as Tomlyn model literals, and a summary per rule.</summary>
internal static class BuiltInRuleDataWriter
{
    public static string OutputPath => Path.Combine(
        Path.GetDirectoryName(Path.GetDirectoryName(RulePackFixture.RulesFilePath))!, "src", "Airlock.Inspection", "Secrets", "BuiltInRuleData.g.cs");

    public static string Generate(byte[] toml, RulePack parsed)
    {
        var document = TomlSerializer.Deserialize<TomlTable>(Encoding.UTF8.GetString(toml), TomlTableContext.Instance)!;
        var rules = (TomlTableArray)document["rules"];
        Assert.Equal(parsed.Rules.Count, rules.Count);
        var hash = Convert.ToHexStringLower(XxHash128.Hash(toml));

        var w = new StringBuilder();
        w.Append("// <auto-generated>\n");
        w.Append("// Generated from rules/secrets.toml by scripts/generate-rule-data.sh (BuiltInRuleDataTests). Do not edit:\n");
        w.Append("// edit the TOML and regenerate. A test fails when this file and the TOML disagree, and at run time\n");
        w.Append("// BuiltInRuleSelector falls back to parsing the TOML when SourceHash is not the embedded TOML's hash.\n");
        w.Append("// </auto-generated>\n");
        w.Append("#nullable enable\n");
        w.Append("using Tomlyn.Model;\n\n");
        w.Append("namespace Airlock.Inspection;\n\n");
        w.Append("internal static partial class BuiltInRuleData\n{\n");
        w.Append("    /// <summary>XxHash128 of the rules/secrets.toml this was generated from.</summary>\n");
        w.Append("    public const string SourceHash = ").Append(Literal(hash)).Append(";\n\n");
        w.Append("    /// <summary>Per rule, in pack order: what a caller selects rules by.</summary>\n");
        w.Append("    public static readonly BuiltInRuleInfo[] Rules =\n    [\n");
        foreach (var rule in parsed.Rules)
        {
            w.Append("        new(").Append(Literal(rule.Id)).Append(", ").Append(StringArray(rule.Keywords)).Append(", FindingCategory.").Append(rule.Category)
                .Append(", Confidence.").Append(rule.Confidence).Append(", ").Append(Bool(rule.Identifiable)).Append(", ").Append(Bool(rule.SkipReport))
                .Append(", ").Append(StringArray(rule.Required.Select(r => r.Id).ToList())).Append("),\n");
        }
        w.Append("    ];\n\n");
        w.Append("    /// <summary>The document without its rules (title, version, global allowlists).</summary>\n");
        w.Append("    public static TomlTable Document() => ");
        var top = new TomlTable();
        foreach (var (key, value) in document)
        {
            if (key != "rules")
            {
                top[key] = value;
            }
        }
        Value(w, top, 1);
        w.Append(";\n\n");
        w.Append("    /// <summary>One [[rules]] table, as the TOML holds it.</summary>\n");
        w.Append("    public static TomlTable Rule(int index) => index switch\n    {\n");
        for (var i = 0; i < rules.Count; i++)
        {
            w.Append("        ").Append(i.ToString(CultureInfo.InvariantCulture)).Append(" => ");
            Value(w, rules[i], 2);
            w.Append(",\n");
        }
        w.Append("        _ => throw new ArgumentOutOfRangeException(nameof(index)),\n    };\n}\n");
        return w.ToString();
    }

    private static void Value(StringBuilder w, object value, int depth)
    {
        var indent = new string(' ', 4 * (depth + 1));
        var close = new string(' ', 4 * depth);
        switch (value)
        {
            case string s:
                w.Append(Literal(s));
                break;
            case bool b:
                w.Append(Bool(b));
                break;
            case long l:
                w.Append(l.ToString(CultureInfo.InvariantCulture)).Append('L');
                break;
            case double d:
                w.Append(d.ToString("R", CultureInfo.InvariantCulture)).Append('d');
                break;
            case TomlTable table:
                w.Append("new TomlTable\n").Append(close).Append("{\n");
                foreach (var (key, item) in table)
                {
                    w.Append(indent).Append('[').Append(Literal(key)).Append("] = ");
                    Value(w, item, depth + 1);
                    w.Append(",\n");
                }
                w.Append(close).Append('}');
                break;
            case TomlTableArray tables:
                w.Append("new TomlTableArray\n").Append(close).Append("{\n");
                foreach (var item in tables)
                {
                    w.Append(indent);
                    Value(w, item, depth + 1);
                    w.Append(",\n");
                }
                w.Append(close).Append('}');
                break;
            case TomlArray array:
                w.Append("new TomlArray { ");
                foreach (var item in array)
                {
                    Value(w, item!, depth + 1);
                    w.Append(", ");
                }
                w.Append('}');
                break;
            default:
                throw new NotSupportedException($"TOML value of type {value.GetType().Name} is not supported by the generator");
        }
    }

    private static string Bool(bool b) => b ? "true" : "false";

    private static string StringArray(IReadOnlyList<string> items) => items.Count == 0 ? "[]" : "[" + string.Join(", ", items.Select(Literal)) + "]";

    private static string Literal(string s)
    {
        var b = new StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '\\': b.Append(@"\\"); break;
                case '"': b.Append("\\\""); break;
                case '\n': b.Append(@"\n"); break;
                case '\r': b.Append(@"\r"); break;
                case '\t': b.Append(@"\t"); break;
                default:
                    if (c < 0x20 || c > 0x7E)
                    {
                        b.Append(@"\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        b.Append(c);
                    }
                    break;
            }
        }
        return b.Append('"').ToString();
    }
}
