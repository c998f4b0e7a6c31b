using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Airlock.Inspection.Messages;
using Airlock.Inspection.Policy;
using Airlock.Inspection.Tests.Messages.Fakes;
using Xunit.Abstractions;

namespace Airlock.Inspection.Tests.Messages;

public class RedactionPropertyTests
{
    private static readonly FindingHasher Hasher = FakeSecrets.Hasher();
    private readonly ITestOutputHelper _output;

    public RedactionPropertyTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Theory]
    [InlineData(11, 0.0, false)]
    [InlineData(12, 0.05, false)]
    [InlineData(13, 0.0, true)]
    [InlineData(14, 0.2, true)]
    [InlineData(15, 0.02, false)]
    public void Output_equals_input_with_exactly_the_inserted_ranges_replaced(int seed, double escapeLetters, bool escapeNonAscii)
    {
        var (baseBody, slots) = ClaudeCodeBodyBuilder.Build(seed, turns: 4, escapeLetters, escapeNonAscii);
        Assert.InRange(baseBody.Length, 30_000, 72_000);
        var random = new Random(seed * 31);
        var insertions = TokenInsertion.Plan(baseBody, slots.Where(s => s.Kind != SlotKind.Signed).ToList(), random, count: 12);
        var (body, placed) = TokenInsertion.Apply(baseBody, insertions);

        var inspector = new MessagesRequestInspector(RegexTextScanner.CreateDefault(), Hasher);
        var result = inspector.Inspect(body, "team-a", InspectionPolicy.Default);

        var expected = new List<byte>();
        int read = 0;
        foreach (var p in placed.Where(p => p.Slot.Kind == SlotKind.Scanned))
        {
            expected.AddRange(body.AsSpan(read, p.Start - read).ToArray());
            expected.AddRange(Encoding.UTF8.GetBytes($"[REDACTED:{FakeSecrets.TokenRule}:{Hasher.ShortHash(p.Token)}]"));
            read = p.Start + p.Token.Length;
        }

        expected.AddRange(body.AsSpan(read).ToArray());

        Assert.False(result.Blocked);
        Assert.Equal(placed.Any(p => p.Slot.Kind == SlotKind.Scanned), result.Modified);
        Assert.Equal(Encoding.UTF8.GetString([.. expected]), Encoding.UTF8.GetString(result.Body.Span));
        using (JsonDocument.Parse(result.Body))
        {
        }

        var scanned = placed.Where(p => p.Slot.Kind == SlotKind.Scanned).ToList();
        // A value whose key holds a token is located through "[*]": a flagged key is never echoed.
        var keyOf = slots.Select((slot, i) => (slot, i)).Where(x => x.slot.Location.EndsWith(".<key>", StringComparison.Ordinal)).ToDictionary(x => slots[x.i + 1], x => x.slot);
        string Expected(Slot slot) => keyOf.TryGetValue(slot, out var key) && scanned.Exists(p => p.Slot == key)
            ? slot.Location[..slot.Location.LastIndexOf('.')] + "[*]"
            : slot.Location;
        Assert.Equal(scanned.Select(p => Expected(p.Slot)), result.Findings.Select(f => f.Location));
        Assert.Equal(scanned.Select(p => Hasher.Hash(p.Token)), result.Findings.Select(f => f.ValueHash));
    }

    [Fact]
    public void The_same_secret_gets_the_same_placeholder_on_the_next_turn_and_history_hits_the_cache()
    {
        const int Seed = 21;
        var (turn1Base, slots1) = ClaudeCodeBodyBuilder.Build(Seed, turns: 3);
        var (turn2Base, slots2) = ClaudeCodeBodyBuilder.Build(Seed, turns: 4);
        string token = FakeSecrets.Create(new Random(99));

        // The secret sits in the first tool result; the next turn resends it at the same location.
        var slot1 = slots1.First(s => s.Location == "messages[3].content[0].content");
        var slot2 = slots2.First(s => s.Location == "messages[3].content[0].content");
        var (body1, _) = TokenInsertion.Apply(turn1Base, [new TokenInsertion.Planned(slot1, slot1.Start, token)]);
        var (body2, _) = TokenInsertion.Apply(turn2Base, [new TokenInsertion.Planned(slot2, slot2.Start, token)]);

        var scanner = RegexTextScanner.CreateDefault();
        var inspector = new MessagesRequestInspector(scanner, Hasher);
        var first = inspector.Inspect(body1, null, InspectionPolicy.Default);
        long hitsBefore = inspector.Cache.Hits;
        var second = inspector.Inspect(body2, null, InspectionPolicy.Default);

        string placeholder = $"[REDACTED:{FakeSecrets.TokenRule}:{Hasher.ShortHash(token)}]";
        string out1 = Encoding.UTF8.GetString(first.Body.Span);
        string out2 = Encoding.UTF8.GetString(second.Body.Span);
        Assert.Contains(placeholder, out1, StringComparison.Ordinal);
        Assert.Contains(placeholder, out2, StringComparison.Ordinal);

        // The redacted history is a byte-identical prefix on both turns: the prompt cache keeps hitting.
        int prefix = out1.IndexOf(placeholder, StringComparison.Ordinal) + placeholder.Length;
        Assert.Equal(out1[..prefix], out2[..prefix]);
        Assert.True(inspector.Cache.Hits > hitsBefore);
    }

    [Fact]
    public async Task One_inspector_shared_across_threads_gives_the_same_results_as_sequential_use()
    {
        var bodies = new List<byte[]>();
        for (int seed = 0; seed < 6; seed++)
        {
            var (baseBody, slots) = ClaudeCodeBodyBuilder.Build(100 + seed, turns: 2);
            var plan = TokenInsertion.Plan(baseBody, slots.Where(s => s.Kind == SlotKind.Scanned).ToList(), new Random(seed), count: 3);
            bodies.Add(TokenInsertion.Apply(baseBody, plan).Body);
        }

        var expected = bodies.Select(b => new MessagesRequestInspector(RegexTextScanner.CreateDefault(), Hasher).Inspect(b, null, InspectionPolicy.Default).Body.ToArray()).ToList();
        var shared = new MessagesRequestInspector(RegexTextScanner.CreateDefault(), Hasher);

        var results = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Task.Run(() => (Index: i % bodies.Count, Body: shared.Inspect(bodies[i % bodies.Count], null, InspectionPolicy.Default).Body.ToArray()))));

        Assert.All(results, r => Assert.Equal(expected[r.Index], r.Body));
        Assert.True(shared.Cache.Hits > 0);
    }

    [Fact]
    public void A_new_turn_of_a_1MB_conversation_costs_about_the_new_content()
    {
        var scanner = RegexTextScanner.CreateDefault();
        var inspector = new MessagesRequestInspector(scanner, Hasher);
        var random = new Random(5);
        var history = new List<string>();
        for (int i = 0; history.Sum(h => h.Length) < 640_000; i++)
        {
            history.Add(ClaudeCodeBodyBuilder.Text(random, 700));
        }

        byte[] turn1 = Conversation(history);
        var cold = Stopwatch.StartNew();
        inspector.Inspect(turn1, null, InspectionPolicy.Default);
        cold.Stop();

        // Four more turns, each adding about 5 KB; the first warm turn still pays JIT for the hit path.
        var warmTimes = new List<double>();
        long lastScanned = 0;
        int added = 0;
        RequestInspection? result = null;
        byte[] previous = turn1;
        for (int turn = 0; turn < 4; turn++)
        {
            history.Add(ClaudeCodeBodyBuilder.Text(random, 600));
            byte[] next = Conversation(history);
            added = next.Length - previous.Length;
            long charsBefore = scanner.ScannedChars;
            var warm = Stopwatch.StartNew();
            result = inspector.Inspect(next, null, InspectionPolicy.Default);
            warm.Stop();
            warmTimes.Add(warm.Elapsed.TotalMilliseconds);
            lastScanned = scanner.ScannedChars - charsBefore;
            previous = next;
        }

        _output.WriteLine($"body {previous.Length} B, added {added} B/turn; cold {cold.Elapsed.TotalMilliseconds:F1} ms, warm turns {string.Join(" / ", warmTimes.Select(t => t.ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))} ms, scanned {lastScanned} chars on the last turn");
        Assert.False(result!.Modified);
        Assert.InRange(previous.Length, 950_000, 1_300_000);

        // Only the new message is scanned again (its string, plus tiny strings below the cache threshold).
        Assert.InRange(lastScanned, 1, added + 512);
        Assert.True(warmTimes.Min() < cold.Elapsed.TotalMilliseconds, "a warm turn must be cheaper than the first");
    }

    private static byte[] Conversation(List<string> texts)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("model", "claude-opus-5-5");
            writer.WriteStartArray("messages");
            for (int i = 0; i < texts.Count; i++)
            {
                writer.WriteStartObject();
                writer.WriteString("role", i % 2 == 0 ? "user" : "assistant");
                writer.WriteStartArray("content");
                writer.WriteStartObject();
                writer.WriteString("type", "text");
                writer.WriteString("text", texts[i]);
                writer.WriteEndObject();
                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return stream.ToArray();
    }
}

/// <summary>Plans and applies insertions of fake tokens at character boundaries of string slots.</summary>
internal static class TokenInsertion
{
    public sealed record Planned(Slot Slot, int Offset, string Token);

    public sealed record Placed(Slot Slot, int Start, string Token);

    public static List<Planned> Plan(byte[] body, List<Slot> slots, Random random, int count)
    {
        var used = new HashSet<int>();
        var plan = new List<Planned>();
        while (plan.Count < count)
        {
            var slot = slots[random.Next(slots.Count)];
            var boundaries = Boundaries(body, slot);
            int offset = boundaries[random.Next(boundaries.Count)];
            if (used.Add(offset))
            {
                plan.Add(new Planned(slot, offset, FakeSecrets.Create(random)));
            }
        }

        return plan;
    }

    public static (byte[] Body, List<Placed> Placed) Apply(byte[] body, IReadOnlyList<Planned> plan)
    {
        var ordered = plan.OrderBy(p => p.Offset).ToList();
        var output = new List<byte>(body.Length + (ordered.Count * 40));
        var placed = new List<Placed>();
        int read = 0;
        foreach (var p in ordered)
        {
            output.AddRange(body.AsSpan(read, p.Offset - read).ToArray());
            placed.Add(new Placed(p.Slot, output.Count, p.Token));
            output.AddRange(Encoding.ASCII.GetBytes(p.Token));
            read = p.Offset;
        }

        output.AddRange(body.AsSpan(read).ToArray());
        return ([.. output], placed);
    }

    // Offsets inside the slot that start a raw element: not inside an escape or a UTF-8 sequence.
    private static List<int> Boundaries(byte[] body, Slot slot)
    {
        var list = new List<int>();
        int i = slot.Start;
        while (i <= slot.End)
        {
            list.Add(i);
            if (i == slot.End)
            {
                break;
            }

            byte b = body[i];
            i += b == (byte)'\\' ? (body[i + 1] == (byte)'u' ? 6 : 2)
                : b < 0x80 ? 1
                : (b & 0xE0) == 0xC0 ? 2
                : (b & 0xF0) == 0xE0 ? 3
                : 4;
        }

        return list;
    }
}
