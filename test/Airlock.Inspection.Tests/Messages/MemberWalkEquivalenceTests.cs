using System.Text;
using System.Text.Json;
using Airlock.Inspection.Messages;
using Airlock.Inspection.Policy;
using Airlock.Inspection.Tests.Messages.Fakes;
using Airlock.Inspection.Tests.Rules;

namespace Airlock.Inspection.Tests.Messages;

/// <summary>
/// The walk that reads only the inspected top-level members (with the caller's layout, or one it reads itself) must
/// give exactly what the whole-body walk of session 5 (<see cref="LegacyMessagesRequestWalk"/>) gives: findings
/// (rule, location, span, action, hash), block reason, incompleteness and forwarded bytes, over generated Claude Code
/// bodies, the recorded Claude Code bodies, the code corpus, odd member orders, duplicate and escaped member names,
/// nesting at the depth limit, the strings limit, invalid JSON and resumed turns.
/// </summary>
public class MemberWalkEquivalenceTests
{
    private static readonly FindingHasher Hasher = FakeSecrets.Hasher();

    private static readonly (string? Team, InspectionPolicy Policy)[] Judgements =
    [
        (null, InspectionPolicy.Default),
        ("team-a", InspectionPolicy.Create(new InspectionPolicyOptions
        {
            Rules = [new ActionRule { RuleIds = ["fake-*", "aws-*", "github-*"], Action = "redact" }],
        })),
        ("team-b", InspectionPolicy.Create(new InspectionPolicyOptions
        {
            Rules = [new ActionRule { RuleIds = ["fake-email"], Action = "block" }, new ActionRule { RuleIds = ["fake-token"], Action = "redact" }],
        })),
    ];

    private static readonly Lazy<ITextScanner> BuiltIn = new(() => ScannerFactory.CreateDefault());

    [Theory]
    [InlineData(1, 0.0, false)]
    [InlineData(2, 0.1, false)]
    [InlineData(3, 0.0, true)]
    [InlineData(4, 0.3, true)]
    [InlineData(5, 0.02, false)]
    public void Generated_claude_code_bodies_with_tokens_in_every_kind_of_slot(int seed, double escapeLetters, bool escapeNonAscii)
    {
        var (baseBody, slots) = ClaudeCodeBodyBuilder.Build(seed, turns: 5, escapeLetters, escapeNonAscii);
        var random = new Random(seed);
        var (body, placed) = TokenInsertion.Apply(baseBody, TokenInsertion.Plan(baseBody, slots, random, count: 16));
        // Also a token and an address in tools, which nothing inspects.
        body = Insert(body, "\"description\":\"", 3, FakeSecrets.Create(random) + " ann@example.test ");

        var findings = AssertSame(body, RegexTextScanner.CreateDefault());

        var scanned = placed.Count(p => p.Slot.Kind != SlotKind.Ignored);
        Assert.True(scanned > 0 && findings >= scanned, $"only {findings} findings for {scanned} tokens planted where they are scanned");
    }

    [Theory]
    [InlineData("claude-code-request.json")]
    [InlineData("claude-code-toolresult-request.json")]
    public void Recorded_claude_code_bodies_as_sent_and_with_secrets_planted(string file)
    {
        var recorded = File.ReadAllBytes(Path.Combine(RepositoryRoot, "bench", "data", file));
        AssertSame(recorded, RegexTextScanner.CreateDefault());
        AssertSame(recorded, BuiltIn.Value);

        var random = new Random(file.Length);
        var planted = recorded;
        foreach (var after in new[] { "\"text\":\"", "\"content\":\"", "\"description\":\"", "\"command\":\"" })
        {
            planted = Insert(planted, after, 2, FakeSecrets.Create(random) + " password=" + FakeSecrets.Create(random)[8..] + " bob@example.test ");
            planted = Insert(planted, after, 5, FakeGitHubTokens.CreateAwsKeyId(random) + " ");
        }

        Assert.True(AssertSame(planted, RegexTextScanner.CreateDefault()) > 0);
        Assert.True(AssertSame(planted, BuiltIn.Value) > 0);
    }

    [Fact]
    public void Code_corpus_as_tool_results_and_system_text()
    {
        var random = new Random(41);
        foreach (var path in Directory.GetFiles(Path.Combine(RepositoryRoot, "test", "Airlock.Inspection.Tests", "Rules", "Corpus"), "*.txt").Order(StringComparer.Ordinal))
        {
            var text = File.ReadAllText(path);
            var token = FakeSecrets.Create(random);
            var json = "{\"model\":\"m\",\"system\":[{\"type\":\"text\",\"text\":" + Quote(text) + "}],"
                + "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":" + Quote(text + token) + "}]},"
                + "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"u\",\"name\":\"Write\",\"input\":{\"file_path\":\"/x\",\"content\":" + Quote(token + text) + "}}]}],"
                + "\"tools\":[{\"name\":\"Read\",\"description\":" + Quote(text) + "}]}";
            var body = Encoding.UTF8.GetBytes(json);
            Assert.True(AssertSame(body, RegexTextScanner.CreateDefault()) >= 2, path);
            AssertSame(body, BuiltIn.Value);
        }
    }

    [Theory]
    // Members in unusual orders, system as a string, tools between.
    [InlineData("""{"system":"s TOKEN","tools":[{"name":"x","description":"TOKEN"}],"messages":[{"role":"user","content":"TOKEN"}],"model":"m"}""")]
    [InlineData("""{"messages":[{"role":"user","content":"a"}],"tools":[{"d":"TOKEN"}],"system":[{"type":"text","text":"TOKEN"}]}""")]
    [InlineData("""{"model":"m","max_tokens":5,"stream":true,"metadata":{"user_id":"TOKEN"},"messages":[{"role":"user","content":[{"type":"text","text":"TOKEN"}]}]}""")]
    // Duplicate system and messages: each is inspected, in body order.
    [InlineData("""{"system":"first TOKEN","messages":[{"role":"user","content":"TOKEN"}],"system":[{"type":"text","text":"second TOKEN"}],"messages":[{"role":"user","content":"x TOKEN"}]}""")]
    // Escaped member names are the members they spell.
    [InlineData("""{"m\u0065ssages":[{"role":"user","content":"TOKEN"}],"\u0073ystem":"TOKEN","to\u006fls":[{"d":"TOKEN"}]}""")]
    [InlineData("""{"messages":[{"r\u006fle":"user","c\u006fntent":[{"typ\u0065":"text","te\u0078t":"TOKEN"}]}],"sys":"TOKEN","System":"TOKEN","messages ":"TOKEN"}""")]
    // Scalars and odd shapes where arrays are expected.
    [InlineData("""{"messages":"TOKEN","system":{"text":"TOKEN","nested":[{"k":"TOKEN"}]}}""")]
    [InlineData("""{"messages":{"0":{"content":"TOKEN"}},"system":null}""")]
    [InlineData("""{"messages":[],"system":[]}""")]
    [InlineData("""{}""")]
    [InlineData("""  {"messages":[{"role":"user","content":"TOKEN"}]}  """)]
    // Not an object: nothing is inspected.
    [InlineData("""["TOKEN"]""")]
    [InlineData(""" "TOKEN" """)]
    // Signed and redacted thinking, a flagged key, an escaped key in tool input.
    [InlineData("""{"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"TOKEN","signature":"s"},{"type":"redacted_thinking","data":"TOKEN"},{"type":"tool_use","id":"i","name":"n","input":{"TOKEN":1,"k\u0065y":"TOKEN"}}]}]}""")]
    // Invalid JSON: what comes before the error is reported as a whole-body walk reports it.
    [InlineData("""{"messages":[{"role":"user","content":"TOKEN"}],"system":"TOKEN" """)]
    [InlineData("""{"messages":[{"role":"user","content":"TOKEN"}],"system":"TOKEN"} trailing""")]
    [InlineData("""{"messages":[{"role":"user","content":"TOKEN"}],"tools":[{"d":"TOKEN"}""")]
    [InlineData("""{"messages":[{"role":"user","content":"TOKEN"},{"role":"user","content":tru}]}""")]
    [InlineData("""{"messages":[{"role":"user","content":"TOKEN"}],"x":}""")]
    [InlineData("""{"messages":[{"role":"user","content":"TOKEN"}],}""")]
    [InlineData("""{"messages":[{"role":"user","content":"TOKEN"}]}{}""")]
    [InlineData("""{"messages""")]
    [InlineData("""{""")]
    [InlineData("""{"a":1,"a""")]
    [InlineData("""nope""")]
    [InlineData("")]
    public void Odd_member_orders_duplicates_escapes_shapes_and_invalid_json(string template)
    {
        var random = new Random(template.Length);
        var body = Encoding.UTF8.GetBytes(template.Replace("TOKEN", FakeSecrets.Create(random) + " a@example.test", StringComparison.Ordinal));
        AssertSame(body, RegexTextScanner.CreateDefault());
    }

    [Fact]
    public void Every_cut_of_a_body_reports_what_a_whole_body_walk_reports()
    {
        var (baseBody, slots) = ClaudeCodeBodyBuilder.Build(21, turns: 2);
        var (body, _) = TokenInsertion.Apply(baseBody, TokenInsertion.Plan(baseBody, slots, new Random(21), count: 12));
        var scanner = RegexTextScanner.CreateDefault();
        for (var cut = 0; cut < body.Length; cut += 53)
        {
            AssertSame(body.AsSpan(0, cut).ToArray(), scanner);
            AssertSame([.. body.AsSpan(0, cut), .. "\"]}x"u8], scanner);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Nesting_at_and_beyond_the_depth_limit_in_inspected_and_skipped_members(int maxDepth)
    {
        var options = new MessagesInspectorOptions { MaxDepth = maxDepth };
        var token = FakeSecrets.Create(new Random(maxDepth));
        for (var depth = 0; depth <= 9; depth++)
        {
            var nested = new string('[', depth) + Quote(token) + new string(']', depth);
            foreach (var template in new[]
            {
                """{"messages":[{"role":"user","content":[{"type":"tool_use","id":"i","name":"n","input":{"k":NESTED}}]}],"system":"TOKEN"}""",
                """{"system":"TOKEN","tools":[{"input_schema":NESTED}],"messages":[{"role":"user","content":"TOKEN"}]}""",
                """{"system":NESTED,"messages":"TOKEN","metadata":NESTED}""",
                """{"system":"TOKEN","messages":[],"tools":NESTED}""",
            })
            {
                var body = Encoding.UTF8.GetBytes(template.Replace("NESTED", nested, StringComparison.Ordinal).Replace("TOKEN", token, StringComparison.Ordinal));
                AssertSame(body, RegexTextScanner.CreateDefault(), options);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(40)]
    [InlineData(120)]
    public void The_strings_limit_counts_the_same_strings(int maxStrings)
    {
        var (body, _) = ClaudeCodeBodyBuilder.Build(31, turns: 3);
        AssertSame(body, RegexTextScanner.CreateDefault(), new MessagesInspectorOptions { MaxStrings = maxStrings });
        AssertSame(Encoding.UTF8.GetBytes("""{"system":"a","tools":["b","c","d"],"messages":[{"role":"user","content":["e","f"]}],"system":["g"]}"""),
            RegexTextScanner.CreateDefault(), new MessagesInspectorOptions { MaxStrings = maxStrings });
    }

    [Fact]
    public void Resumed_turns_with_odd_member_orders_equal_whole_body_walks()
    {
        var random = new Random(77);
        var scanner = RegexTextScanner.CreateDefault();
        var memo = new MessagesRequestInspector(scanner, Hasher);
        var messages = new List<string>();
        for (var turn = 0; turn < 30; turn++)
        {
            messages.Add($$"""{"role":"{{(turn % 2 == 0 ? "user" : "assistant")}}","content":[{"type":"text","text":{{Quote(ClaudeCodeBodyBuilder.Text(random, 400) + (turn % 3 == 0 ? " " + FakeSecrets.Create(random) : ""))}}}]}""");
            var list = string.Join(',', messages);
            var system = Quote("sys " + FakeSecrets.Create(new Random(5)));
            var json = (turn % 4) switch
            {
                0 => $$"""{"model":"m","messages":[{{list}}],"system":{{system}},"tools":[{"name":"x"}]}""",
                1 => $$"""{"system":{{system}},"tools":[{"name":"x"}],"messages":[{{list}}],"stream":true}""",
                2 => $$"""{"messages":[{{list}}],"tools":[{"name":"x"}],"system":{{system}},"messages":[{{list}}]}""",
                _ => $$"""{"model":"m","m\u0065ssages":[{{list}}],"system":{{system}}}""",
            };
            var body = Encoding.UTF8.GetBytes(json);
            var (team, policy) = Judgements[turn % Judgements.Length];
            var reference = Describe(Legacy(body, scanner, new MessagesInspectorOptions(), team, policy));
            Assert.Equal(reference, Describe(memo.Inspect(body, team, policy)));
            Assert.Equal(reference, Describe(memo.Inspect(body, team, policy, CallerLayout(body, 128))));
        }

        Assert.True(memo.ResumedTurns >= 30, $"only {memo.ResumedTurns} of 60 inspections resumed");
    }

    [Fact]
    public void A_remembered_system_prompt_replays_exactly_what_its_walk_finds()
    {
        var random = new Random(91);
        var token = FakeSecrets.Create(random);
        // Strings below the verdict cache's 64-byte floor are scanned on every walk: the replay is what saves them.
        var system = $$"""[{"type":"text","text":"short {{token}}"},{"type":"text","text":"bob@example.test"},{"type":"text","text":{{Quote(ClaudeCodeBodyBuilder.Text(random, 300) + " password=" + FakeSecrets.Create(random)[8..])}}}]""";
        var scanner = new SystemScanCounter(RegexTextScanner.CreateDefault());
        var memo = new MessagesRequestInspector(scanner, Hasher, new MessagesInspectorOptions { MaxStrings = 9 });
        var reference = RegexTextScanner.CreateDefault();
        for (var turn = 0; turn < 12; turn++)
        {
            var messages = string.Join(',', Enumerable.Range(0, 1 + (turn % 4)).Select(i => $$"""{"role":"user","content":"m{{i}} {{(i == 2 ? token : "x")}}"}"""));
            var body = Encoding.UTF8.GetBytes((turn % 3) switch
            {
                0 => $$"""{"system":{{system}},"messages":[{{messages}}]}""",
                1 => $$"""{"messages":[{{messages}}],"tools":[],"system":{{system}}}""",
                // The same prompt under an escaped name, and twice: the strings limit (9) is crossed in the second copy.
                _ => $$"""{"syst\u0065m":{{system}},"messages":[{{messages}}],"system":{{system}}}""",
            });
            foreach (var (team, policy) in Judgements)
            {
                Assert.Equal(
                    Describe(Legacy(body, reference, new MessagesInspectorOptions { MaxStrings = 9 }, team, policy)),
                    Describe(memo.Inspect(body, team, policy, CallerLayout(body, 128))));
            }
        }

        // Walked once per distinct member bytes (plain and escaped name), and the copy that crosses the strings limit
        // (turn 11: 3 + 4 strings before it) once per judgement, to stop where a walk stops; 36 inspections in all.
        Assert.Equal(2 + Judgements.Length, scanner.SystemScans);
    }

    /// <summary>Counts how often the short system string is scanned (a walk scans it, a replay does not).</summary>
    private sealed class SystemScanCounter(ITextScanner inner) : ITextScanner
    {
        public int SystemScans { get; private set; }

        public void Scan(string text, List<TextMatch> results)
        {
            if (text.StartsWith("short ", StringComparison.Ordinal))
            {
                SystemScans++;
            }

            inner.Scan(text, results);
        }
    }

    [Fact]
    public void A_layout_of_other_bytes_is_refused()
    {
        var inspector = new MessagesRequestInspector(RegexTextScanner.CreateDefault(), Hasher);
        var body = Encoding.UTF8.GetBytes("""{"messages":[]}""");
        var layout = CallerLayout(Encoding.UTF8.GetBytes("""{"messages":[1]}"""), 64)!;

        Assert.Throws<ArgumentException>(() => inspector.Inspect(body, null, InspectionPolicy.Default, layout));
    }

    /// <summary>
    /// Compares the legacy whole-body walk with the new walk without a layout and with a caller's layout validated at
    /// a shallower, equal and deeper limit than the inspector's, under every judgement. Returns the findings count.
    /// </summary>
    private static int AssertSame(byte[] body, ITextScanner scanner, MessagesInspectorOptions? options = null)
    {
        options ??= new MessagesInspectorOptions();
        var inspector = new MessagesRequestInspector(scanner, Hasher, options with { PrefixMemoConversations = 0 });
        var findings = 0;
        foreach (var (team, policy) in Judgements)
        {
            var legacy = Legacy(body, scanner, options, team, policy);
            var reference = Describe(legacy);
            findings += legacy.Findings.Count;
            Assert.Equal(reference, Describe(inspector.Inspect(body, team, policy)));
            foreach (var validatedDepth in new[] { Math.Max(1, options.MaxDepth - 1), options.MaxDepth, options.MaxDepth + 5, 1024 })
            {
                // The gateway validates first: only bodies its pass accepts come with a layout.
                if (CallerLayout(body, validatedDepth) is { } layout)
                {
                    Assert.Equal(reference, Describe(inspector.Inspect(body, team, policy, layout)));
                }
            }
        }

        return findings;
    }

    private static RequestInspection Legacy(byte[] body, ITextScanner scanner, MessagesInspectorOptions options, string? team, InspectionPolicy policy) =>
        new LegacyMessagesRequestWalk(new MessagesRequestInspector(scanner, Hasher, options with { PrefixMemoConversations = 0 }), body, team, policy).Run();

    /// <summary>What a caller's validation pass (the gateway's MessagesRequestReader) hands over; null when it refuses the body.</summary>
    private static RequestBodyLayout? CallerLayout(byte[] body, int maxDepth)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = maxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            var layout = new RequestBodyLayout(body.Length, maxDepth);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                int start = (int)reader.TokenStartIndex, nameLength = reader.ValueSpan.Length;
                var escaped = reader.ValueIsEscaped;
                reader.Read();
                int valueStart = (int)reader.TokenStartIndex;
                reader.Skip();
                layout.Add(new RequestBodyLayout.Member(start, nameLength, escaped, valueStart, (int)reader.BytesConsumed));
            }

            return reader.Read() ? null : layout;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Describe(RequestInspection result) =>
        $"blocked={result.Blocked} incomplete={result.Incomplete} reason={result.BlockReason} modified={result.Modified}\n"
        + string.Join('\n', result.Findings.Select(f => $"{f.RuleId} {f.Location} {f.Start}+{f.Length} {f.Action} {f.Category} {f.Confidence} {f.ValueHash}"))
        + "\n" + Encoding.UTF8.GetString(result.Body.Span);

    private static string Quote(string text) => JsonSerializer.Serialize(text);

    /// <summary>Inserts <paramref name="text"/> after every <paramref name="every"/>-th occurrence of <paramref name="after"/>.</summary>
    private static byte[] Insert(byte[] body, string after, int every, string text)
    {
        var source = Encoding.UTF8.GetString(body);
        var sb = new StringBuilder(source.Length + 4096);
        int read = 0, seen = 0;
        for (int at = source.IndexOf(after, StringComparison.Ordinal); at >= 0; at = source.IndexOf(after, at + after.Length, StringComparison.Ordinal))
        {
            if (++seen % every == 0)
            {
                var end = at + after.Length;
                sb.Append(source, read, end - read).Append(text);
                read = end;
            }
        }

        return Encoding.UTF8.GetBytes(sb.Append(source, read, source.Length - read).ToString());
    }

    private static string RepositoryRoot => Path.GetDirectoryName(Path.GetDirectoryName(RulePackFixture.RulesFilePath))!;
}
