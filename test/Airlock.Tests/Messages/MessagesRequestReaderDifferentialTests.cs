using System.Text;
using System.Text.Json;
using Airlock.Protocols.Messages;

namespace Airlock.Tests.Messages;

/// <summary>
/// <see cref="MessagesRequestReader.TryRead"/> (fast path first, <see cref="Utf8JsonReader"/> on refusal) against
/// <see cref="Utf8JsonReaderOracle"/> (the reader-only implementation it replaced): same verdict, error text, model,
/// stream and top-level layout on every input, and the fast path alone never accepts what the oracle refuses or
/// accepts with a different result (that would be a parser differential between the gateway and the upstream).
/// Inputs: the recorded bodies and every JSON file in the repository, generated bodies, tens of thousands of seeded
/// mutations, every truncation of a small body, targeted escapes/numbers/literals/whitespace, and nesting around
/// the depth limit. A failure prints the seed and the input.
/// </summary>
public sealed class MessagesRequestReaderDifferentialTests
{
    private const int Depth = 128;

    /// <summary>What one implementation made of one input.</summary>
    private readonly record struct Outcome(bool Ok, string? Model, bool Stream, string? Layout, string? Error, string? Thrown);

    private sealed class Tally
    {
        public int Inputs;
        public int Accepted;
        public int FastAccepted;
    }

    [Fact]
    public void Recorded_bodies_and_repository_json_files_match_and_take_the_fast_path()
    {
        var tally = new Tally();
        foreach (var name in new[] { "claude-code-request.json", "claude-code-toolresult-request.json" })
        {
            var body = File.ReadAllBytes(Path.Combine(Root, "bench", "data", name));
            Assert.True(Check(body, Depth, tally, name), $"{name}: the fast path refused a recorded Claude Code body");
            Assert.True(MessagesRequestReader.TryReadFast(body, Depth, out var info));
            Assert.NotNull(info.Model);
            Assert.True(info.Layout!.Members.Count > 5);
        }
        foreach (var path in RepositoryJsonFiles())
        {
            var body = File.ReadAllBytes(path);
            Check(body, Depth, tally, path);
            Check(body, 8, tally, path);
        }
        // Code and prose with secrets from the inspection corpus, as JSON strings: escapes of every kind.
        foreach (var path in Directory.GetFiles(Path.Combine(Root, "test", "Airlock.Inspection.Tests", "Rules", "Corpus"), "*.txt").Order(StringComparer.Ordinal))
        {
            var text = JsonSerializer.Serialize(File.ReadAllText(path));
            var body = Encoding.UTF8.GetBytes($$"""{"model":"m","system":[{"type":"text","text":{{text}}}],"messages":[],"stream":true}""");
            Assert.True(Check(body, Depth, tally, path), path);
        }
        Assert.True(tally.Inputs > 10, $"only {tally.Inputs} corpus inputs");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(0)] // 0: a fresh seed each run (printed on failure)
    public void Generated_bodies_and_their_mutations_match(int fixedSeed)
    {
        var seed = fixedSeed != 0 ? fixedSeed : Random.Shared.Next(1, int.MaxValue);
        var random = new Random(seed);
        var tally = new Tally();
        var recorded = File.ReadAllBytes(Path.Combine(Root, "bench", "data", "claude-code-request.json"));
        for (var round = 0; round < 400; round++)
        {
            var context = $"seed {seed}, round {round}";
            var (body, plain) = round % 100 == 99 ? (recorded, true) : GeneratedBody(random, escapeNames: round % 7 == 0);
            var maxDepth = round % 5 == 0 ? random.Next(1, 12) : Depth;
            var valid = Check(body, maxDepth, tally, context);
            if (plain && maxDepth == Depth)
            {
                // No escaped top-level name or model, nesting well below the limit: only the fast path should read it.
                Assert.True(valid && MessagesRequestReader.TryReadFast(body, maxDepth, out _), $"{context}: fast path refused a plain valid body: {Show(body)}");
            }
            var mutations = body.Length > 20_000 ? 20 : 60;
            for (var m = 0; m < mutations; m++)
            {
                var (mutant, what) = Mutate(body, random);
                Check(mutant, maxDepth, tally, $"{context}, mutation {m} ({what})");
            }
        }
        Assert.True(tally.Inputs >= 20_000, $"{tally.Inputs} inputs");
        // The mutants must exercise both verdicts and the fast path must carry the plain valid ones.
        Assert.True(tally.Accepted > tally.Inputs / 10 && tally.Accepted < tally.Inputs * 9 / 10, $"accepted {tally.Accepted} of {tally.Inputs}");
        Assert.True(tally.FastAccepted > tally.Accepted / 2, $"fast path took {tally.FastAccepted} of {tally.Accepted} accepted");
    }

    [Fact]
    public void Every_truncation_and_every_single_byte_deletion_of_a_small_body_match()
    {
        var body = Encoding.UTF8.GetBytes(
            "{\"model\":\"claude-x\",\"max_tokens\":-1.5e+3,\"stream\":false,\"n\":[0,-0,1E2,0.25,true,false,null,{}],"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00 é 中\"}],\r\n\t \"o\":{\"k\":[[]]}} \n");
        var tally = new Tally();
        Assert.True(Check(body, Depth, tally, "whole"));
        for (var length = 0; length < body.Length; length++)
        {
            Check(body[..length], Depth, tally, $"truncated to {length}");
            Check([.. body[..length], .. body[(length + 1)..]], Depth, tally, $"byte {length} deleted");
        }
        Assert.True(tally.Inputs > 2 * body.Length);
    }

    public static TheoryData<string> Snippets() =>
    [
        // Escapes.
        "\\x", "\\u12", "\\u12\"", "\\uZZZZ", "\\u00zz", "\\U0041", "\\uD800", "\\uDC00", "\\uD83D\\uDE00", "\\uDE00\\uD83D", "\\uD800x",
        "\\", "\\\\", "\\/", "\\'", "\\0", "\\a", "\\v", "\\e", "\\ ",
        // Numbers.
        "-", "01", "00", "1.", ".5", "1e", "1e+", "1e-", "-0", "-0.0", "+1", "1e999999", "-1E-999999", "0x10", "1_000", "1.5.5",
        "123456789012345678901234567890", "--1", "0e0", "0E+0", "1e+-1", "Infinity", "NaN", "-Infinity",
        // Literals.
        "tru", "nulll", "True", "NULL", "fals", "falsee", "nul", "t", "truefalse",
        // Whitespace and other bytes.
        "\v", "\f", "\u00A0", "\u2028", "\uFEFF", "\0", "\u007F", "\u0001", "\t", "\r", "\n", " ",
        // Structure.
        ",", ":", "[", "]", "{", "}", "\"", "[,]", "{,}", "[1,]", "{\"a\":1,}", "{\"a\"}", "{\"a\":}", "{1:2}", "{'a':1}", "[1 2]", "//c", "/*c*/",
    ];

    [Theory]
    [MemberData(nameof(Snippets))]
    public void Targeted_snippets_in_every_kind_of_place_match(string snippet)
    {
        var tally = new Tally();
        string[] shapes =
        [
            "{\"model\":\"m\",\"a\":S}", "{\"a\":[S]}", "{\"a\":[1,S]}", "{\"a\":{\"b\":S}}", "{\"a\":\"xSy\"}", "{\"aSb\":1}",
            "{\"model\":\"S\"}", "{\"model\":S}", "{\"stream\":S}", "{S\"model\":\"m\"}", "{\"model\":\"m\"S}", "{\"model\":\"m\"}S",
            "S{\"model\":\"m\"}", "{\"a\":S1}", "{\"a\":1S}", "{\"a\":\"\\u00S\"}", "{\"a\":[\"S\",\"\\nS\\n\"]}",
        ];
        foreach (var shape in shapes)
        {
            Check(Encoding.UTF8.GetBytes(shape.Replace("S", snippet, StringComparison.Ordinal)), Depth, tally, $"{shape} with {snippet}");
        }
        Assert.Equal(shapes.Length, tally.Inputs);
    }

    [Theory]
    [InlineData("""{"model":"a","model":"b"}""")]
    [InlineData("""{"stream":true,"stream":true}""")]
    [InlineData("""{"mod\u0065l":"a"}""")]
    [InlineData("""{"model":"a","mod\u0065l":"b"}""")]
    [InlineData("""{"\u006dodel":"a","stream":true}""")]
    [InlineData("""{"str\u0065am":true}""")]
    [InlineData("""{"str\u0065am":1}""")]
    [InlineData("""{"model":"cl\u0061ude","stream":false}""")]
    [InlineData("""{"model":"\uD800"}""")]
    [InlineData("""{"model":"\uDC00x"}""")]
    [InlineData("""{"model":"\uD83D\uDE00"}""")]
    [InlineData("""{"model":"a\"b"}""")]
    [InlineData("""{"model":"é中😀"}""")]
    [InlineData("""{"model":""}""")]
    [InlineData("""{"model":null}""")]
    [InlineData("""{"model":1}""")]
    [InlineData("""{"stream":"true"}""")]
    [InlineData("""{"stream":null}""")]
    [InlineData("""{"stream":0}""")]
    [InlineData("""{"stream":true }""")]
    [InlineData("""{"stream":truex}""")]
    [InlineData("""{"model" : "m" , "stream" : false }""")]
    [InlineData("""{"Model":"m","STREAM":true,"model ":"x"}""")]
    [InlineData("""{"metadata":{"model":"a","model":"b"},"model":"c"}""")]
    [InlineData("""{"\\model":"a"}""")]
    [InlineData("""{}""")]
    [InlineData(""" {} """)]
    [InlineData("""{ }""")]
    [InlineData("""{"a":{}}""")]
    [InlineData("""{"a":[]}""")]
    [InlineData("""[]""")]
    [InlineData("""{"a":1}{"b":2}""")]
    [InlineData("\uFEFF{\"model\":\"m\"}")]
    [InlineData("{\"model\":\"m\"}\uFEFF")]
    [InlineData("\u00A0{\"model\":\"m\"}")]
    public void Duplicate_escaped_and_odd_keys_and_values_match(string json)
    {
        var tally = new Tally();
        var body = Encoding.UTF8.GetBytes(json);
        Check(body, Depth, tally, json);
        Check(body, 1, tally, json);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(64)]
    [InlineData(128)]
    [InlineData(1024)]
    [InlineData(1025)]
    [InlineData(0)]
    [InlineData(-1)]
    public void Nesting_around_the_depth_limit_matches(int maxDepth)
    {
        var tally = new Tally();
        var limit = Math.Max(maxDepth, 64);
        foreach (var nesting in new[] { 1, 2, 3, limit - 2, limit - 1, limit, limit + 1, limit + 2 })
        {
            if (nesting < 1)
            {
                continue;
            }
            // Nesting counts the top-level object: "{"a":[[...]]}" with nesting-1 arrays.
            var inner = nesting - 1;
            Check(Nested(inner, "[", "]", "", "1"), maxDepth, tally, $"arrays {nesting}");
            Check(Nested(inner, "[", "]", "", ""), maxDepth, tally, $"empty arrays {nesting}");
            Check(Nested(inner, "{\"k\":", "}", "", "true"), maxDepth, tally, $"objects {nesting}");
            Check(Nested(inner, "{\"k\":[", "]}", "", "\"s\""), maxDepth, tally, $"object-arrays {nesting}");
            Check(Nested(inner, "[{}, ", "]", "", "{}"), maxDepth, tally, $"arrays holding empty objects {nesting}");
            Check(Nested(inner, "[0,", ",0]", "", "[]"), maxDepth, tally, $"arrays around an empty array {nesting}");
        }
        Assert.True(tally.Inputs >= 30);
        if (maxDepth is >= 1 and <= 1024)
        {
            // At the limit the fast path reads it itself; one deeper and it leaves the refusal to the reader.
            var inner = maxDepth - 1;
            Assert.True(MessagesRequestReader.TryReadFast(Nested(inner, "[", "]", "", "1"), maxDepth, out _));
            Assert.False(MessagesRequestReader.TryReadFast(Nested(inner + 1, "[", "]", "", "1"), maxDepth, out _));
        }
    }

    private static byte[] Nested(int count, string open, string close, string before, string innermost)
    {
        var text = new StringBuilder("{\"model\":\"m\",\"a\":");
        if (count == 0)
        {
            text.Append("0}");
            return Encoding.UTF8.GetBytes(text.ToString());
        }
        for (var i = 0; i < count - 1; i++)
        {
            text.Append(before).Append(open);
        }
        text.Append(open).Append(innermost).Append(close);
        for (var i = 0; i < count - 1; i++)
        {
            text.Append(close);
        }
        text.Append('}');
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>
    /// Compares the current reader and its fast path with the oracle on one input; returns whether the oracle accepted.
    /// </summary>
    private static bool Check(byte[] body, int maxDepth, Tally tally, string context)
    {
        tally.Inputs++;
        var expected = Run(() => (Utf8JsonReaderOracle.TryRead(body, maxDepth, out var info, out var error), info, error));
        var actual = Run(() => (MessagesRequestReader.TryRead(body, maxDepth, out var info, out var error), info, error));
        if (expected != actual)
        {
            Assert.Fail($"{context}: maxDepth {maxDepth}\n expected {expected}\n actual   {actual}\n body {Show(body)}");
        }
        if (expected.Ok)
        {
            tally.Accepted++;
        }
        if (body.Length > 0 && System.Text.Unicode.Utf8.IsValid(body))
        {
            var fast = Run(() => (MessagesRequestReader.TryReadFast(body, maxDepth, out var info), info, null));
            if (fast.Thrown is not null || (fast.Ok && fast != expected))
            {
                Assert.Fail($"{context}: fast path at maxDepth {maxDepth}\n oracle {expected}\n fast   {fast}\n body {Show(body)}");
            }
            if (fast.Ok)
            {
                tally.FastAccepted++;
            }
        }
        return expected.Ok;
    }

    private static Outcome Run(Func<(bool Ok, MessagesRequestInfo Info, string? Error)> read)
    {
        try
        {
            var (ok, info, error) = read();
            var layout = info.Layout is null
                ? null
                : $"{info.Layout.Open}/{info.Layout.BodyLength}:" + string.Join(';', info.Layout.Members.Select(m => $"{m.Start},{m.NameLength},{m.NameEscaped},{m.ValueStart},{m.End}"));
            return new Outcome(ok, info.Model, info.Stream, layout, error, null);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // The oracle throws on some inputs (a model with a lone surrogate escape, a negative depth): so must the reader.
            return new Outcome(false, null, false, null, null, ex.GetType().Name);
        }
    }

    private static (byte[] Body, string What) Mutate(byte[] body, Random random)
    {
        var at = random.Next(body.Length + 1);
        switch (random.Next(7))
        {
            case 0:
            {
                // Replace one byte with an interesting one.
                if (body.Length == 0)
                {
                    return (body, "none");
                }
                var copy = (byte[])body.Clone();
                var index = random.Next(body.Length);
                copy[index] = InterestingBytes[random.Next(InterestingBytes.Length)];
                return (copy, $"byte {index} := 0x{copy[index]:x2}");
            }
            case 1:
            case 2:
            {
                var insert = Encoding.UTF8.GetBytes(Inserts[random.Next(Inserts.Length)]);
                return ([.. body[..at], .. insert, .. body[at..]], $"insert {Encoding.UTF8.GetString(insert)} at {at}");
            }
            case 3:
            {
                var length = Math.Min(random.Next(1, 6), body.Length - Math.Min(at, body.Length));
                return ([.. body[..at], .. body[(at + length)..]], $"delete {length} at {at}");
            }
            case 4:
            {
                // Swap the value at a value position (after a colon) for a snippet.
                var colon = body.AsSpan(at).IndexOf((byte)':');
                if (colon < 0)
                {
                    return (body[..at], $"truncate at {at}");
                }
                var start = at + colon + 1;
                var end = start;
                while (end < body.Length && body[end] is not ((byte)',' or (byte)'}' or (byte)']'))
                {
                    end++;
                }
                var snippet = Encoding.UTF8.GetBytes(ValueSnippets[random.Next(ValueSnippets.Length)]);
                return ([.. body[..start], .. snippet, .. body[end..]], $"value at {start} := {Encoding.UTF8.GetString(snippet)}");
            }
            case 5:
            {
                // Put an escape or odd text inside a string: right after some quote.
                var quote = body.AsSpan(at).IndexOf((byte)'"');
                var where = quote < 0 ? at : at + quote + 1;
                var insert = Encoding.UTF8.GetBytes(StringInserts[random.Next(StringInserts.Length)]);
                return ([.. body[..where], .. insert, .. body[where..]], $"string insert {Encoding.UTF8.GetString(insert)} at {where}");
            }
            default:
                return (body[..at], $"truncate at {at}");
        }
    }

    private static readonly byte[] InterestingBytes =
    [
        (byte)'"', (byte)'\\', (byte)',', (byte)':', (byte)'[', (byte)']', (byte)'{', (byte)'}', (byte)' ', (byte)'\t', (byte)'\n', (byte)'\r',
        0x00, 0x01, 0x08, 0x0B, 0x0C, 0x1F, 0x7F, (byte)'a', (byte)'0', (byte)'9', (byte)'-', (byte)'+', (byte)'.', (byte)'e', (byte)'E',
        (byte)'u', (byte)'t', (byte)'n', (byte)'/', (byte)'x', 0x80, 0xC3, 0xFF,
    ];

    private static readonly string[] Inserts =
    [
        "\"", "\\", ",", ":", "[", "]", "{", "}", "\u0000", "\u001F", "\u000B", "\u000C", "\u00A0", "\uFEFF", "é", "中", "😀", " ", "\t", "\r\n",
        "\\x", "\\u12", "\\uZZZZ", "\\uD800", "\\uDC00", "\\uD83D\\uDE00", "-", "01", "1.", ".5", "1e", "1e+", "-0", "1e999999", "tru", "nulll",
        "true", "null", "\"a\":1,", ",\"model\":\"x\"", ",\"stream\":true", ",\"mod\\u0065l\":\"y\"", ",\"stream\":1", "[]", "{}", "[[", "]]", "//",
    ];

    private static readonly string[] ValueSnippets =
    [
        "-", "01", "1.", ".5", "1e", "1e+", "-0", "-0.5e-7", "1E999999", "tru", "nulll", "true", "false", "null", "\"s\"", "\"\\u00e9\"", "[]",
        "{}", "[1,2]", "{\"model\":\"m\"}", "\"\\uD800\"", "\"\\x\"", "\"a\nb\"", " 7 ", "\t\"t\"\r\n", "\u00A07", "\v7", "\f7", "", "[,]",
    ];

    private static readonly string[] StringInserts =
    [
        "\\n", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\r", "\\t", "\\u0041", "\\u00e9", "\\uD83D\\uDE00", "\\uD800", "\\uDFFF", "\\x", "\\u12",
        "\\uZZZZ", "\\", "\n", "\t", "\u0000", "\u007F", "é", "中", "😀", "\u00A0", "\u2028", "\"", "\\u", "\\U0041",
    ];

    /// <summary>A body shaped like Claude Code's (model, messages, system, tools, metadata, stream) with random JSON inside.</summary>
    /// <returns>The body, and whether it is plain: no top-level name and no model holds an escape.</returns>
    private static (byte[] Body, bool Plain) GeneratedBody(Random random, bool escapeNames)
    {
        var members = new List<string>();
        var plain = !escapeNames;
        if (random.Next(10) > 0)
        {
            var escapedModel = random.Next(6) == 0;
            plain &= !escapedModel;
            members.Add(Member("model", JsonString(random, random.Next(4) == 0 ? 3 : 30, escapes: escapedModel), escapeNames && random.Next(2) == 0, random));
        }
        if (random.Next(3) > 0)
        {
            members.Add(Member("stream", random.Next(2) == 0 ? "true" : "false", escapeNames && random.Next(2) == 0, random));
        }
        var others = new[] { "messages", "system", "tools", "metadata", "max_tokens", "thinking", "temperature", "tool_choice" };
        foreach (var name in others.OrderBy(_ => random.Next()).Take(random.Next(1, others.Length)))
        {
            members.Add(Member(name, Value(random, random.Next(1, 7)), escapeNames && random.Next(4) == 0, random));
        }
        var shuffled = members.OrderBy(_ => random.Next());
        return (Encoding.UTF8.GetBytes(Space(random) + "{" + Space(random) + string.Join("," + Space(random), shuffled) + Space(random) + "}" + Space(random)), plain);
    }

    private static string Member(string name, string value, bool escapeName, Random random)
    {
        var quoted = escapeName ? "\"" + string.Concat(name.Select((c, i) => i == 0 ? $"\\u{(int)c:x4}" : c.ToString())) + "\"" : "\"" + name + "\"";
        return quoted + Space(random) + ":" + Space(random) + value;
    }

    private static string Value(Random random, int depth) => random.Next(depth <= 0 ? 4 : 7) switch
    {
        0 => JsonString(random, random.Next(200), escapes: true),
        1 => Number(random),
        2 => new[] { "true", "false", "null" }[random.Next(3)],
        3 => JsonString(random, random.Next(8), escapes: false),
        4 or 5 => "[" + Space(random) + string.Join("," + Space(random), Enumerable.Range(0, random.Next(5)).Select(_ => Value(random, depth - 1))) + Space(random) + "]",
        _ => "{" + Space(random) + string.Join("," + Space(random), Enumerable.Range(0, random.Next(5)).Select(_ =>
            Member(new[] { "type", "text", "model", "stream", "name", "input", "a" }[random.Next(7)], Value(random, depth - 1), random.Next(8) == 0, random))) + Space(random) + "}",
    };

    private static string Number(Random random)
    {
        var text = new StringBuilder();
        if (random.Next(3) == 0)
        {
            text.Append('-');
        }
        if (random.Next(4) == 0)
        {
            text.Append('0');
        }
        else
        {
            // Up to 18 digits, never more than the drawn integer has (a small draw has fewer).
            var digits = random.NextInt64(1, long.MaxValue).ToString(System.Globalization.CultureInfo.InvariantCulture);
            text.Append(digits[..Math.Min(digits.Length, random.Next(1, 19))]);
        }
        if (random.Next(3) == 0)
        {
            text.Append('.').Append(random.Next(1000));
        }
        if (random.Next(4) == 0)
        {
            text.Append("eE"[random.Next(2)]).Append(new[] { "", "+", "-" }[random.Next(3)]).Append(random.Next(4) == 0 ? "99999" : random.Next(400).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }

    private static string JsonString(Random random, int length, bool escapes)
    {
        var text = new StringBuilder("\"");
        for (var i = 0; i < length; i++)
        {
            var pick = random.Next(escapes ? 40 : 30);
            text.Append(pick switch
            {
                < 24 => Alphabet[random.Next(Alphabet.Length)].ToString(),
                24 => "é",
                25 => "中",
                26 => "😀",
                27 => "\u00A0",
                28 => "\u007F",
                29 => " ",
                30 or 31 => "\\n",
                32 => "\\\"",
                33 => "\\\\",
                34 => "\\t",
                35 => new[] { "\\/", "\\b", "\\f", "\\r" }[random.Next(4)],
                36 => $"\\u{random.Next(0x10000):x4}",
                37 => $"\\u{random.Next(0xD800, 0xE000):X4}",
                38 => "\\uD83D\\uDE00",
                _ => "\\u0000",
            });
        }
        return text.Append('"').ToString();
    }

    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz ABC019_-.,;()<>=/'";

    private static string Space(Random random) => random.Next(4) switch
    {
        0 => new[] { " ", "\n", "\t", "\r\n", "  \n\t" }[random.Next(5)],
        _ => "",
    };

    private static IEnumerable<string> RepositoryJsonFiles() =>
        new[] { "bench", "src", "test", "docs", "rules", "deploy" }
            .Select(folder => Path.Combine(Root, folder))
            .Where(Directory.Exists)
            .SelectMany(folder => Directory.EnumerateFiles(folder, "*.json", SearchOption.AllDirectories))
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !path.Contains("node_modules", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    private static string Show(byte[] body)
    {
        var text = Convert.ToHexString(body.AsSpan(0, Math.Min(body.Length, 4096)));
        return body.Length <= 400 ? JsonSerializer.Serialize(Encoding.UTF8.GetString(body)) + " hex " + text : $"{body.Length} bytes, starts {text[..Math.Min(text.Length, 400)]}";
    }

    private static readonly Lazy<string> RootPath = new(() =>
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(directory!.FullName, "Airlock.slnx")))
        {
            directory = directory.Parent;
        }
        return directory.FullName;
    });

    private static string Root => RootPath.Value;
}
