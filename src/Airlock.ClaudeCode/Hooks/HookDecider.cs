using System.Text;
using Airlock.ClaudeCode.SecretFiles;
using Airlock.Inspection;

namespace Airlock.ClaudeCode.Hooks;

/// <summary>What the hook tells Claude Code.</summary>
public enum HookVerdict
{
    /// <summary>No opinion: the normal permission flow goes on (the hook never approves on its own).</summary>
    None,

    /// <summary>PreToolUse: the tool call does not run; the reason goes to the developer and the model.</summary>
    Deny,

    /// <summary>UserPromptSubmit: the prompt is not sent.</summary>
    Block,
}

/// <summary>A decision plus what it was about (for the event sent to the gateway).</summary>
public sealed record HookDecision(HookVerdict Verdict, string? Reason, IReadOnlyList<string> RuleIds, IReadOnlyList<string> Paths)
{
    public static HookDecision NoOpinion(IReadOnlyList<string>? paths = null) => new(HookVerdict.None, null, [], paths ?? []);
}

/// <summary>
/// The hook's policy decisions. PreToolUse: a path on the secret-file list (as given, after <c>..</c>
/// removal, and after following symlinks) or a file whose content holds a secret is denied, for the file
/// tools and for Bash commands that name or print such files. UserPromptSubmit: a prompt holding a secret
/// is blocked. Anything it cannot decide follows <see cref="HookPolicy.FailClosed"/>.
/// </summary>
public sealed class HookDecider
{
    /// <summary>Most files of one Bash command whose content is scanned (the rest are checked by name only).</summary>
    public const int MaxScannedFilesPerCommand = 16;

    private static readonly HashSet<string> ReadTools = new(StringComparer.Ordinal) { "Read", "NotebookRead" };
    private static readonly HashSet<string> WriteTools = new(StringComparer.Ordinal) { "Edit", "MultiEdit", "Write", "NotebookEdit" };

    private readonly HookPolicy _policy;
    private readonly Func<ITextScanner> _scanner;
    private readonly string? _home;

    /// <param name="policy">Deny list and failure mode.</param>
    /// <param name="scanner">Creates the secret scanner on first use (loading rules costs milliseconds; most events never need it).</param>
    /// <param name="home">The developer's home, for <c>~</c> in paths.</param>
    public HookDecider(HookPolicy policy, Func<ITextScanner> scanner, string? home)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(scanner);
        _policy = policy;
        _home = home;
        ITextScanner? created = null;
        _scanner = () => created ??= scanner();
    }

    /// <summary>Decides one hook call.</summary>
    public HookDecision Decide(HookInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        try
        {
            return input.EventName switch
            {
                "PreToolUse" => DecideTool(input),
                "UserPromptSubmit" => DecidePrompt(input),
                _ => HookDecision.NoOpinion(),
            };
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Scanner could not load, file system surprise, …: the policy says whether that blocks.
            return FailureDecision(input.EventName, $"the check failed ({ex.GetType().Name})");
        }
    }

    /// <summary>The answer when no decision could be made: deny/block when failing closed, else no opinion.</summary>
    public HookDecision FailureDecision(string eventName, string what)
    {
        if (!_policy.FailClosed)
        {
            return HookDecision.NoOpinion();
        }
        var verdict = eventName == "UserPromptSubmit" ? HookVerdict.Block : HookVerdict.Deny;
        return new HookDecision(verdict, $"Airlock: {what}; refused because the policy fails closed. Ask your administrator if this persists.", [], []);
    }

    private HookDecision DecideTool(HookInput input)
    {
        var tool = input.ToolName ?? "";
        var cwd = string.IsNullOrEmpty(input.Cwd) ? Directory.GetCurrentDirectory() : input.Cwd;
        if (ReadTools.Contains(tool) || WriteTools.Contains(tool) || tool == "Grep")
        {
            var raw = input.Input("file_path") ?? input.Input("notebook_path") ?? (tool == "Grep" ? input.Input("path") : null);
            if (raw is null)
            {
                return HookDecision.NoOpinion();
            }
            var resolved = PathResolver.Resolve(raw, cwd, _home);
            if (resolved is null)
            {
                return HookDecision.NoOpinion([raw]);
            }
            var paths = new[] { resolved.Normalized };
            if (MatchName(resolved) is { } pattern)
            {
                return Deny(paths, $"Airlock: {Display(raw)} is a secret-bearing file (matches '{pattern}' in the organization's policy); {tool} was refused.");
            }
            // Writes replace content: the name decides. Reads and Grep put content in the conversation: scan it.
            if (!WriteTools.Contains(tool) && ScanFile(resolved.Real) is { Count: > 0 } rules)
            {
                return new HookDecision(HookVerdict.Deny,
                    $"Airlock: {Display(raw)} contains a secret ({string.Join(", ", rules)}); {tool} was refused so it does not reach the model.", rules, paths);
            }
            return HookDecision.NoOpinion(paths);
        }
        if (tool == "Bash" && input.Input("command") is { } command)
        {
            return DecideBash(command, cwd);
        }
        return HookDecision.NoOpinion();
    }

    private HookDecision DecideBash(string command, string cwd)
    {
        var references = BashCommandFiles.Analyze(command);
        var paths = new List<string>();
        foreach (var mention in references.Mentioned)
        {
            if (_policy.Files.Match(mention) is { } direct)
            {
                return Deny([mention], $"Airlock: the command refers to {Display(mention)}, a secret-bearing file (matches '{direct}'); Bash was refused.");
            }
            if (PathResolver.Resolve(mention, cwd, _home) is { } resolved && MatchName(resolved) is { } pattern)
            {
                return Deny([resolved.Normalized], $"Airlock: the command refers to {Display(mention)}, a secret-bearing file (matches '{pattern}'); Bash was refused.");
            }
        }
        var scanned = 0;
        foreach (var target in references.Read)
        {
            if (PathResolver.Resolve(target, cwd, _home) is not { } resolved || !File.Exists(resolved.Real))
            {
                continue;
            }
            paths.Add(resolved.Normalized);
            if (++scanned > MaxScannedFilesPerCommand)
            {
                break;
            }
            if (ScanFile(resolved.Real) is { Count: > 0 } rules)
            {
                return new HookDecision(HookVerdict.Deny,
                    $"Airlock: the command prints {Display(target)}, which contains a secret ({string.Join(", ", rules)}); Bash was refused.", rules, [resolved.Normalized]);
            }
        }
        return HookDecision.NoOpinion(paths);
    }

    private HookDecision DecidePrompt(HookInput input)
    {
        if (string.IsNullOrEmpty(input.Prompt))
        {
            return HookDecision.NoOpinion();
        }
        var rules = SecretRules(input.Prompt);
        return rules.Count == 0
            ? HookDecision.NoOpinion()
            : new HookDecision(HookVerdict.Block,
                $"Airlock: the prompt contains a secret ({string.Join(", ", rules)}) and was not sent. Remove it (or reference it by name) and try again.", rules, []);
    }

    private string? MatchName(ResolvedPath resolved)
    {
        foreach (var candidate in resolved.Candidates)
        {
            if (_policy.Files.Match(candidate) is { } pattern)
            {
                return pattern;
            }
        }
        return null;
    }

    /// <summary>Secret rule ids found in the first <see cref="HookPolicy.MaxScanBytes"/> of a regular file; empty when it cannot be opened.</summary>
    private List<string> ScanFile(string path)
    {
        string text;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return [];
            }
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
            var length = (int)Math.Min(info.Length, _policy.MaxScanBytes);
            var buffer = new byte[length];
            var read = stream.ReadAtLeast(buffer, length, throwOnEndOfStream: false);
            text = Encoding.UTF8.GetString(buffer, 0, read);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The tool cannot read it either; nothing leaves.
            return [];
        }
        return SecretRules(text);
    }

    /// <summary>Rule ids of secret findings worth stopping a read for: identifiable tokens, or medium/high confidence.</summary>
    public List<string> SecretRules(string text)
    {
        var matches = new List<TextMatch>();
        _scanner().Scan(text, matches);
        var rules = new List<string>();
        foreach (var match in matches)
        {
            if (IsBlocking(match) && !rules.Contains(match.RuleId, StringComparer.Ordinal))
            {
                rules.Add(match.RuleId);
            }
        }
        return rules;
    }

    /// <summary>Replaces every secret in <paramref name="text"/> with <c>[REDACTED:rule]</c> (for the command line in events).</summary>
    public string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var matches = new List<TextMatch>();
        _scanner().Scan(text, matches);
        if (matches.Count == 0)
        {
            return text;
        }
        var builder = new StringBuilder(text.Length);
        var position = 0;
        foreach (var match in matches.Where(m => m.Category == FindingCategory.Secret).OrderBy(m => m.Start))
        {
            if (match.Start < position)
            {
                continue;
            }
            builder.Append(text, position, match.Start - position).Append("[REDACTED:").Append(match.RuleId).Append(']');
            position = match.Start + match.Length;
        }
        return builder.Append(text, position, text.Length - position).ToString();
    }

    private static bool IsBlocking(TextMatch match) =>
        match.Category == FindingCategory.Secret && (match.Identifiable || match.Confidence >= Confidence.Medium);

    private static HookDecision Deny(IReadOnlyList<string> paths, string reason) => new(HookVerdict.Deny, reason, [], paths);

    /// <summary>Paths in reasons are shown as the tool gave them, cut to a readable length.</summary>
    private static string Display(string path) => path.Length <= 200 ? path : path[..200] + "…";
}
