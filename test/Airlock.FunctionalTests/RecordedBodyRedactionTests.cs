using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>
/// Issue 3, "redaction keeps every other byte identical (property test over real Claude Code bodies)": the requests Claude
/// Code 2.1.330 really sent (<c>bench/data</c>, exact bytes), with fake AWS key ids planted at the start of every string the
/// inspector reads in <c>system</c> and <c>messages</c> (text blocks, a <c>system</c> message, tool input, tool result) and in
/// the middle of the long system prompt, sent through the real gateway. The upstream must receive exactly the planted body
/// with each key replaced by one placeholder — every other byte identical — and the same key planted twice must get the
/// same placeholder.
/// </summary>
public sealed partial class RecordedBodyRedactionTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("claude-code-request.json")]
    [InlineData("claude-code-toolresult-request.json")]
    public async Task Every_planted_key_becomes_a_placeholder_and_every_other_byte_of_the_recorded_body_is_kept(string file)
    {
        var recorded = await File.ReadAllBytesAsync(Path.Combine(RepositoryRoot.Require(), "bench", "data", file));
        var slots = Slots(recorded);
        Assert.True(slots.Count >= 6, $"only {slots.Count} slots in {file}");
        // Distinct keys, except the last slot repeats the first key: one value, one placeholder.
        var keys = slots.Select(_ => FakeAwsKeyId()).ToList();
        keys[^1] = keys[0];
        var planted = Plant(recorded, slots, keys);

        await using var harness = await GatewayHarness.StartAsync(output);
        using var response = await harness.Client.SendAsync(harness.Messages(planted, "sess-recorded"));
        var answer = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, answer);

        var received = Assert.Single(harness.Upstream.MessagesRequests).GetBodyBytes();
        var placeholders = MatchSplice(planted, received, slots, keys);
        output.WriteLine($"{file}: {slots.Count} slots, {planted.Length} bytes planted, {received.Length} received");
        Assert.Equal(placeholders[0], placeholders[^1]);
        Assert.Equal(keys.Distinct().Count(), placeholders.Distinct().Count());
        using (JsonDocument.Parse(received))
        {
        }

        var record = await harness.SingleAuditAsync();
        var findings = record.Findings.Where(f => f.RuleId == "aws-access-key-id").ToList();
        Assert.Equal(slots.Count, findings.Count);
        Assert.All(findings, f => Assert.Equal("redact", f.Action));
        Assert.Equal(keys.Distinct().Count(), findings.Select(f => f.ValueHash).Distinct().Count());
        foreach (var key in keys.Distinct())
        {
            await harness.AssertNotStoredAsync(key);
        }
    }

    private static string FakeAwsKeyId() => "AKIA" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);

    /// <summary>
    /// Byte offsets where a key is planted: just after the opening quote of every <c>text</c>, string <c>content</c> and
    /// tool-input string value under <c>system</c> and <c>messages</c>, plus after the first space of the longest such string.
    /// </summary>
    private static List<int> Slots(byte[] body)
    {
        var slots = new List<int>();
        var reader = new Utf8JsonReader(body);
        var path = new Stack<string>();
        string? property = null;
        var longest = (Start: -1, Length: 0);
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    property = reader.GetString();
                    break;
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    path.Push(property ?? "");
                    property = null;
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    path.Pop();
                    break;
                case JsonTokenType.String:
                    var top = path.Reverse().Skip(1).FirstOrDefault();
                    if (top is "system" or "messages" && property is "text" or "content" or "file_path")
                    {
                        var start = (int)reader.TokenStartIndex + 1;
                        slots.Add(start);
                        if (reader.ValueSpan.Length > longest.Length)
                        {
                            longest = (start, reader.ValueSpan.Length);
                        }
                    }
                    property = null;
                    break;
                default:
                    property = null;
                    break;
            }
        }
        // A space is never part of an escape sequence, so a key planted after one sits between two whole characters.
        var space = body.AsSpan(longest.Start, longest.Length).IndexOf((byte)' ');
        Assert.True(space > 0);
        slots.Add(longest.Start + space + 1);
        slots.Sort();
        return slots;
    }

    private static byte[] Plant(byte[] body, List<int> slots, List<string> keys)
    {
        var planted = new List<byte>(body.Length + (slots.Count * 21));
        var read = 0;
        for (var i = 0; i < slots.Count; i++)
        {
            planted.AddRange(body.AsSpan(read, slots[i] - read).ToArray());
            planted.AddRange(Encoding.ASCII.GetBytes(keys[i] + " "));
            read = slots[i];
        }
        planted.AddRange(body.AsSpan(read).ToArray());
        return [.. planted];
    }

    /// <summary>Asserts <paramref name="received"/> is <paramref name="planted"/> with each key replaced by one placeholder; returns them in order.</summary>
    private static List<string> MatchSplice(byte[] planted, byte[] received, List<int> slots, List<string> keys)
    {
        var placeholders = new List<string>();
        int from = 0, at = 0;
        for (var i = 0; i < slots.Count; i++)
        {
            var keyAt = slots[i] + (i * (keys[0].Length + 1));
            var segment = planted.AsSpan(from, keyAt - from);
            Assert.True(received.AsSpan(at).StartsWith(segment), $"bytes before key {i} differ (planted offset {from})");
            at += segment.Length;
            var match = PlaceholderPattern().Match(Encoding.ASCII.GetString(received, at, Math.Min(64, received.Length - at)));
            Assert.True(match.Success && match.Index == 0, $"no placeholder where key {i} was");
            placeholders.Add(match.Value);
            at += match.Length;
            from = keyAt + keys[i].Length;
        }
        Assert.True(received.AsSpan(at).SequenceEqual(planted.AsSpan(from)), "bytes after the last key differ");
        return placeholders;
    }

    [GeneratedRegex(@"^\[REDACTED:aws-access-key-id:[0-9a-f]{4}\]")]
    private static partial Regex PlaceholderPattern();
}
