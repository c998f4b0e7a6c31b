using System.Text;
using System.Text.Json;
using Airlock.Inspection.Messages;
using Airlock.Inspection.Policy;
using Airlock.Inspection.Tests.Messages.Fakes;
using Airlock.Protocols.Messages;

namespace Airlock.Inspection.Tests.Messages;

/// <summary>
/// The inspector reads only the members the gateway's validation pass located (<see cref="MessagesRequestReader"/>'s
/// layout), so a layout that misplaces a member, or misses an escape in its name, lets content reach the model
/// uninspected. These tests take the real validation pass (its fast syntax path and its reader fallback alike), hand
/// its layout to the inspector as the gateway does (<c>Gateway/Inspection/InspectionLayout</c>), and require exactly
/// what the session-5 whole-body walk (<see cref="LegacyMessagesRequestWalk"/>) finds, on bodies with escaped member
/// names at every position, duplicates, long names and escapes near the start of strings.
/// </summary>
public class RealValidationLayoutTests
{
    private const int GatewayDepth = 128;

    private static readonly FindingHasher Hasher = FakeSecrets.Hasher();

    private static readonly InspectionPolicy RedactAll = InspectionPolicy.Create(new InspectionPolicyOptions
    {
        Rules = [new ActionRule { RuleIds = ["*"], Action = "redact" }],
    });

    [Theory]
    [InlineData(1, 0.0, false)]
    [InlineData(2, 0.2, false)]
    [InlineData(3, 0.05, true)]
    [InlineData(4, 0.5, true)]
    public void Generated_claude_code_bodies(int seed, double escapeLetters, bool escapeNonAscii)
    {
        var (baseBody, slots) = ClaudeCodeBodyBuilder.Build(seed, turns: 4, escapeLetters, escapeNonAscii);
        var (body, _) = TokenInsertion.Apply(baseBody, TokenInsertion.Plan(baseBody, slots, new Random(seed), count: 12));
        Assert.True(AssertSame(body) > 0);
    }

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var name in new[] { "messages", "system" })
        {
            // Each letter escaped in turn, with lower- and (where it differs) upper-case hex digits.
            for (var i = 0; i < name.Length; i++)
            {
                string lower = $"{(int)name[i]:x4}", upper = $"{(int)name[i]:X4}";
                data.Add(name[..i] + "\\u" + lower + name[(i + 1)..]);
                if (upper != lower)
                {
                    data.Add(name[..i] + "\\u" + upper + name[(i + 1)..]);
                }
            }

            data.Add(name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Member_names_escaped_at_every_position(string name)
    {
        var token = FakeSecrets.Create(new Random(name.Length));
        var value = JsonSerializer.Deserialize<string>("\"" + name + "\"") == "messages"
            ? $$"""[{"role":"user","content":"deploy {{token}}"}]"""
            : $$"""[{"type":"text","text":"use {{token}}"}]""";
        // Long names (over 16 bytes, escaped late) and long strings with an escape in their first 16 bytes around it.
        var body = $$"""{"model":"m","a_long_member_name_with_an_escape_late\u0021":"x","{{name}}":{{value}},"tools":[{"description":"t\"ok {{token}}"}],"{{name}}":{{value}}}""";

        Assert.True(AssertSame(Encoding.UTF8.GetBytes(body)) >= 2, body);
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"\u0041KIA TOKEN"}],"system":"\\\" TOKEN"}""")]
    [InlineData("""{ "messages" : [ {"role":"user","content":"TOKEN"} ] , "system" : "TOKEN" , "x\"y":1 }""")]
    [InlineData("""{"messages\u0000":"TOKEN","messages":[{"role":"user","content":"TOKEN"}],"\u0000system":"TOKEN"}""")]
    [InlineData("""{"\ud83d\ude00":"TOKEN","messages":[{"role":"user","content":[{"type":"text","text":"\ud83d\ude00 TOKEN"}]}]}""")]
    [InlineData("""{"messages":[{"role":"user","content":"TOKEN"}],"messages":"TOKEN","system":[],"system":{"text":"TOKEN"}}""")]
    public void Odd_bodies(string template)
    {
        var body = Encoding.UTF8.GetBytes(template.Replace("TOKEN", FakeSecrets.Create(new Random(template.Length)), StringComparison.Ordinal));
        AssertSame(body);
    }

    /// <summary>Inspects with the real validation pass's layout and compares with the whole-body walk; returns the findings.</summary>
    private static int AssertSame(byte[] body)
    {
        Assert.True(MessagesRequestReader.TryRead(body, GatewayDepth, out var info, out var error), error);
        var validated = info.Layout!;
        var layout = new RequestBodyLayout(validated.BodyLength, GatewayDepth, validated.Members.Count);
        foreach (var member in validated.Members)
        {
            layout.Add(new RequestBodyLayout.Member(member.Start, member.NameLength, member.NameEscaped, member.ValueStart, member.End));
        }

        var scanner = RegexTextScanner.CreateDefault();
        var inspector = new MessagesRequestInspector(scanner, Hasher, new MessagesInspectorOptions { PrefixMemoConversations = 0 });
        var findings = 0;
        foreach (var policy in new[] { InspectionPolicy.Default, RedactAll })
        {
            var legacy = new LegacyMessagesRequestWalk(inspector, body, null, policy).Run();
            findings += legacy.Findings.Count;
            Assert.Equal(Describe(legacy), Describe(inspector.Inspect(body, null, policy, layout)));
        }

        return findings;
    }

    private static string Describe(RequestInspection result) =>
        $"blocked={result.Blocked} incomplete={result.Incomplete} reason={result.BlockReason} modified={result.Modified}\n"
        + string.Join('\n', result.Findings.Select(f => $"{f.RuleId} {f.Location} {f.Start}+{f.Length} {f.Action} {f.ValueHash}"))
        + "\n" + Encoding.UTF8.GetString(result.Body.Span);
}
