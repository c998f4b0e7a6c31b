using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Airlock.Inspection;
using Airlock.Inspection.Messages;
using Airlock.Inspection.Policy;
using Airlock.Inspection.Streaming;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;

namespace Airlock.Benchmarks;

/// <summary>(a) Throughput over a ~1 MB mixed code corpus, one scan per file (as tool results arrive).
/// MB/s = corpus chars (1.06 M, ASCII, so bytes) / mean.</summary>
public class ScannerThroughputBenchmarks
{
    private IReadOnlyList<CodeCorpus.CorpusFile> _files = [];
    private SecretScanner _secrets = null!;
    private PersonalDataScanner _pii = null!;
    private ITextScanner _default = null!;
    private readonly List<TextMatch> _results = [];

    /// <summary>Total characters scanned per operation.</summary>
    public static long CorpusChars { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        _files = CodeCorpus.Files(1024 * 1024);
        CorpusChars = _files.Sum(f => (long)f.Text.Length);
        _secrets = new SecretScanner(RulePack.LoadBuiltIn());
        _pii = new PersonalDataScanner();
        _default = ScannerFactory.CreateDefault();
    }

    [Benchmark(Description = "secrets (all built-in rules), 1 MB code")]
    public int Secrets() => Run(_secrets);

    [Benchmark(Description = "personal data, 1 MB code")]
    public int PersonalData() => Run(_pii);

    [Benchmark(Description = "default scanner (secrets + PII), 1 MB code")]
    public int Default() => Run(_default);

    private int Run(ITextScanner scanner)
    {
        var found = 0;
        foreach (var file in _files)
        {
            _results.Clear();
            scanner.Scan(file.Text, _results);
            found += _results.Count;
        }

        return found;
    }
}

/// <summary>(b) A turn of a 1 MB Claude Code conversation: the verdict cache holds every earlier string, the turn
/// adds one 5 KB tool result (fresh content each iteration, so it is really scanned).</summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 5, iterationCount: 30, invocationCount: 1, id: "turn")]
public class ConversationTurnBenchmarks
{
    private MessagesRequestInspector _inspector = null!;
    private JsonObject _conversation = null!;
    private byte[] _body = [];
    private int _turn;

    [GlobalSetup]
    public void Setup()
    {
        _inspector = new MessagesRequestInspector(ScannerFactory.CreateDefault(), new FindingHasher(Encoding.UTF8.GetBytes("benchmark-hash-key-0123456789")));
        _conversation = Conversation.Build(1024 * 1024);
        _ = _inspector.Inspect(Conversation.Serialize(_conversation), null, InspectionPolicy.Default);
    }

    [IterationSetup]
    public void NextTurn()
    {
        _turn++;
        _body = Conversation.Serialize(Conversation.WithNewToolResult(_conversation, 5 * 1024, seed: 1000 + _turn));
    }

    [Benchmark(Description = "inspect 1 MB conversation, warm cache + 5 KB new")]
    public int Turn() => _inspector.Inspect(_body, null, InspectionPolicy.Default).Findings.Count;
}

/// <summary>(c) Startup: parse the embedded built-in pack (as the gateway does once), build the scanner and scan a
/// first 32 KB prompt (what the first request pays).</summary>
public class StartupBenchmarks
{
    private static readonly MethodInfo s_read = typeof(RulePack).Assembly.GetType("Airlock.Inspection.RulePackReader")!
        .GetMethod("Read", BindingFlags.Public | BindingFlags.Static)!;

    private string _toml = string.Empty;
    private string _prompt = string.Empty;

    [GlobalSetup]
    public void Setup()
    {
        using var stream = typeof(RulePack).Assembly.GetManifestResourceStream(RulePack.BuiltInResourceName)!;
        using var reader = new StreamReader(stream);
        _toml = reader.ReadToEnd();
        _prompt = CodeCorpus.Text(32 * 1024, seed: 7);
    }

    [Benchmark(Description = "load built-in pack + construct SecretScanner")]
    public SecretScanner LoadAndConstruct() => new(LoadPack());

    [Benchmark(Description = "load + construct + first 32 KB scan")]
    public int LoadConstructFirstScan()
    {
        var scanner = new SecretScanner(LoadPack());
        var results = new List<TextMatch>();
        scanner.Scan(_prompt, results);
        return results.Count;
    }

    private RulePack LoadPack() => (RulePack)s_read.Invoke(null, [_toml, RulePack.BuiltInSourceName, true, null])!;
}

/// <summary>(d) Streaming output inspection: an 8 KB answer in 200 text deltas of ~40 chars; reported per delta.</summary>
public class StreamingBenchmarks
{
    private const int Deltas = 200;
    private readonly List<byte[]> _events = [];
    private ITextScanner _scanner = null!;
    private FindingHasher _hasher = null!;

    [GlobalSetup]
    public void Setup()
    {
        _scanner = ScannerFactory.CreateDefault();
        _hasher = new FindingHasher(Encoding.UTF8.GetBytes("benchmark-hash-key-0123456789"));
        var answer = CodeCorpus.Text(Deltas * 40, seed: 3);
        _events.Add(Encoding.UTF8.GetBytes("""{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""));
        for (var i = 0; i < Deltas; i++)
        {
            var piece = answer.Substring(i * 40, 40);
            _events.Add(JsonSerializer.SerializeToUtf8Bytes(new { type = "content_block_delta", index = 0, delta = new { type = "text_delta", text = piece } }));
        }

        _events.Add(Encoding.UTF8.GetBytes("""{"type":"content_block_stop","index":0}"""));
    }

    [Benchmark(Description = "streaming output inspector, per text delta", OperationsPerInvoke = Deltas)]
    public int PerDelta()
    {
        var inspector = new StreamingOutputInspector(_scanner, _hasher, InspectionPolicy.Default, null);
        foreach (var data in _events)
        {
            inspector.Inspect(null, data);
        }

        return inspector.Findings.Count;
    }
}

/// <summary>Builds Claude Code conversations from the captured request (<c>bench/data/claude-code-request.json</c>):
/// its system prompt, tools and first user turn, then tool_use / tool_result turns holding corpus files.</summary>
internal static class Conversation
{
    public static JsonObject Build(int targetBytes)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "data", "claude-code-request.json");
        var root = JsonNode.Parse(File.ReadAllBytes(path))!.AsObject();
        var messages = root["messages"]!.AsArray();
        var files = CodeCorpus.Files(targetBytes, seed: 99);
        var id = 0;
        var size = Serialize(root).Length;
        foreach (var file in files)
        {
            if (size >= targetBytes)
            {
                break;
            }

            AddToolTurn(messages, $"toolu_{id++:D6}", file.Path, file.Text);
            size += file.Text.Length + 400;
        }

        return root;
    }

    public static JsonObject WithNewToolResult(JsonObject conversation, int chars, int seed)
    {
        var copy = conversation.DeepClone().AsObject();
        var text = CodeCorpus.Text(chars, seed);
        AddToolTurn(copy["messages"]!.AsArray(), $"toolu_new_{seed}", $"src/new_{seed}.cs", text[..Math.Min(text.Length, chars)]);
        return copy;
    }

    public static byte[] Serialize(JsonObject root) => Encoding.UTF8.GetBytes(root.ToJsonString());

    private static void AddToolTurn(JsonArray messages, string toolId, string path, string text)
    {
        messages.Add(new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = new JsonArray(new JsonObject
            {
                ["type"] = "tool_use",
                ["id"] = toolId,
                ["name"] = "Read",
                ["input"] = new JsonObject { ["file_path"] = "/work/project/" + path },
            }),
        });
        var numbered = string.Join('\n', text.Split('\n').Select((line, i) => $"{i + 1,6}\t{line}"));
        messages.Add(new JsonObject
        {
            ["role"] = "user",
            ["content"] = new JsonArray(new JsonObject
            {
                ["type"] = "tool_result",
                ["tool_use_id"] = toolId,
                ["content"] = numbered,
            }),
        });
    }
}

/// <summary>
/// The verdict cache's content key: strings under 241 bytes are hashed as a padded 256-byte block (XXH3's short-input
/// path has published seed-independent collisions); against the plain seeded XXH128 of the same bytes.
/// </summary>
[Config(typeof(ShortRunConfig))]
public class VerdictKeyBenchmarks
{
    private byte[] _text = [];

    [Params(100, 240, 300)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _text = new byte[Length];
        _text.AsSpan().Fill((byte)'x');
    }

    [Benchmark(Baseline = true)]
    public UInt128 PlainXxh128() => System.IO.Hashing.XxHash128.HashToUInt128(_text, 1);

    [Benchmark]
    public UInt128 VerdictKey() => VerdictCache.KeyOf(_text);
}
