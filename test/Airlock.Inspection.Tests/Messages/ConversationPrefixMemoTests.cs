using System.Text;
using System.Text.Json;
using Airlock.Inspection.Messages;
using Airlock.Inspection.Policy;
using Airlock.Inspection.Tests.Messages.Fakes;

namespace Airlock.Inspection.Tests.Messages;

/// <summary>
/// A turn that resumes after the unchanged prefix of a conversation must give exactly what a walk of the whole body
/// gives: the same findings (rule, location, span, action, hash), the same forwarded bytes, the same block.
/// </summary>
public class ConversationPrefixMemoTests
{
    private static readonly FindingHasher Hasher = FakeSecrets.Hasher();

    private static readonly InspectionPolicy BlockFakes = InspectionPolicy.Create(new InspectionPolicyOptions
    {
        Rules = [new ActionRule { RuleIds = ["fake-*"], Teams = ["team-b"], Action = "block" }],
    });

    [Fact]
    public void Resumed_turns_equal_whole_walks_across_growing_edited_and_differently_judged_turns()
    {
        var random = new Random(2026);
        var messages = new List<string>();
        var memo = new MessagesRequestInspector(RegexTextScanner.CreateDefault(), Hasher);
        var whole = new MessagesRequestInspector(RegexTextScanner.CreateDefault(), Hasher, new MessagesInspectorOptions { PrefixMemoConversations = 0 });
        var compared = 0;
        for (var turn = 0; turn < 40; turn++)
        {
            messages.Add(Message(random, messages.Count));
            if (turn % 9 == 8)
            {
                // An earlier message changes (a client that edits history): the resumed walk must notice.
                var at = random.Next(messages.Count);
                messages[at] = Message(random, at);
            }

            var body = Body(messages, random);
            var (team, policy) = (turn % 3) switch
            {
                0 => ((string?)null, InspectionPolicy.Default),
                1 => ("team-b", BlockFakes),
                _ => ("team-a", BlockFakes),
            };

            var resumed = memo.Inspect(body, team, policy);
            var reference = whole.Inspect(body, team, policy);

            Assert.Equal(Describe(reference), Describe(resumed));
            compared += reference.Findings.Count;
        }

        Assert.True(compared > 100, $"only {compared} findings compared: the conversation does not exercise the replay");
        Assert.True(memo.ResumedTurns >= 30, $"only {memo.ResumedTurns} of 40 turns resumed");
        Assert.Equal(0, whole.ResumedTurns);
    }

    [Fact]
    public void A_body_that_only_shares_the_first_message_resumes_there_and_still_inspects_the_rest()
    {
        var random = new Random(7);
        var messages = Enumerable.Range(0, 12).Select(i => Message(random, i)).ToList();
        var inspector = new MessagesRequestInspector(RegexTextScanner.CreateDefault(), Hasher);
        _ = inspector.Inspect(Body(messages, random), null, InspectionPolicy.Default);

        var other = messages.Take(1).Concat(Enumerable.Range(1, 11).Select(i => Message(random, i))).ToList();
        var body = Body(other, random);
        var result = inspector.Inspect(body, null, InspectionPolicy.Default);
        var reference = new MessagesRequestInspector(RegexTextScanner.CreateDefault(), Hasher, new MessagesInspectorOptions { PrefixMemoConversations = 0 })
            .Inspect(body, null, InspectionPolicy.Default);

        Assert.Equal(1, inspector.ResumedTurns);
        Assert.Equal(Describe(reference), Describe(result));
    }

    [Fact]
    public void The_strings_limit_counts_the_prefix_too()
    {
        var random = new Random(3);
        var messages = Enumerable.Range(0, 6).Select(i => Message(random, i)).ToList();
        var options = new MessagesInspectorOptions { MaxStrings = 40 };
        var inspector = new MessagesRequestInspector(RegexTextScanner.CreateDefault(), Hasher, options);
        var first = inspector.Inspect(Body(messages, random), null, InspectionPolicy.Default);
        Assert.False(first.Incomplete);

        for (var i = 0; i < 30; i++)
        {
            messages.Add(Message(random, messages.Count));
        }

        var body = Body(messages, random);
        var result = inspector.Inspect(body, null, InspectionPolicy.Default);

        Assert.Equal(1, inspector.ResumedTurns);
        Assert.True(result.Incomplete);
        Assert.Equal(Describe(new MessagesRequestInspector(RegexTextScanner.CreateDefault(), Hasher, options with { PrefixMemoConversations = 0 }).Inspect(body, null, InspectionPolicy.Default)), Describe(result));
    }

    private static string Describe(RequestInspection result) =>
        $"blocked={result.Blocked} incomplete={result.Incomplete} reason={result.BlockReason} modified={result.Modified}\n"
        + string.Join('\n', result.Findings.Select(f => $"{f.RuleId} {f.Location} {f.Start}+{f.Length} {f.Action} {f.ValueHash}"))
        + "\n" + Encoding.UTF8.GetString(result.Body.Span);

    // A conversation as Claude Code sends it: messages first, cache_control on the last message, then system and tools.
    private static byte[] Body(List<string> messages, Random random)
    {
        var last = messages[^1];
        var marked = last.EndsWith("}]}", StringComparison.Ordinal) ? last[..^3] + ",\"cache_control\":{\"type\":\"ephemeral\"}}]}" : last;
        var sb = new StringBuilder("{\"model\":\"claude-opus-5-5\",\"messages\":[");
        sb.AppendJoin(',', messages.Take(messages.Count - 1)).Append(messages.Count > 1 ? "," : "").Append(marked);
        sb.Append("],\"system\":[{\"type\":\"text\",\"text\":").Append(JsonSerializer.Serialize(ClaudeCodeBodyBuilder.Text(random, 200))).Append("}]");
        sb.Append(",\"tools\":[{\"name\":\"Bash\",\"description\":\"runs\",\"input_schema\":{\"type\":\"object\"}}],\"max_tokens\":64,\"stream\":true}");
        var body = Encoding.UTF8.GetBytes(sb.ToString());
        using (JsonDocument.Parse(body))
        {
        }

        return body;
    }

    // One message of 2-6 KB: text, tool use (with a token sometimes in a key), tool result or thinking; ~1 in 3
    // hold a fake token, some escaped.
    private static string Message(Random random, int index)
    {
        string Text(int words)
        {
            var text = ClaudeCodeBodyBuilder.Text(random, words);
            if (random.Next(3) == 0)
            {
                var at = random.Next(text.Length);
                text = text[..at] + " " + FakeSecrets.Create(random) + "\n" + text[at..];
            }

            return JsonSerializer.Serialize(text);
        }

        var words = random.Next(300, 900);
        return (index % 4) switch
        {
            0 => $$"""{"role":"user","content":[{"type":"text","text":{{Text(words)}}}]}""",
            1 => "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":" + Text(40) + ",\"signature\":\"sig" + index
                + "\"},{\"type\":\"tool_use\",\"id\":\"toolu_" + index + "\",\"name\":\"Bash\",\"input\":{\"command\":" + Text(20) + ",\"env\":{"
                + (random.Next(4) == 0 ? JsonSerializer.Serialize("K_" + FakeSecrets.Create(random)) : "\"HOME\"") + ":\"x\"}}}]}",
            2 => $$"""{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_{{index - 1}}","content":{{Text(words)}}}]}""",
            _ => $$"""{"role":"assistant","content":{{Text(words / 3)}}}""",
        };
    }
}
