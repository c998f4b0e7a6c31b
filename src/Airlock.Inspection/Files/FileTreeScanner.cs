using System.Text;
using Airlock.Inspection.Policy;

namespace Airlock.Inspection.Files;

/// <summary>
/// Scans files and directory trees for secrets and personal data (the engine behind
/// <c>airlock scan</c>): honors <c>.gitignore</c> files, never enters <c>.git/</c>, does not
/// follow symbolic links, and reports (rather than silently drops) binary, oversized and
/// unreadable files. Findings carry path, line, column, rule and keyed hash, never the value.
/// </summary>
public static class FileTreeScanner
{
    // git's own heuristic (xdiff, buffer_is_binary): a NUL in the first 8000 bytes.
    private const int BinarySniffBytes = 8000;

    /// <summary>Scans every file under <paramref name="paths"/> (files or directories).</summary>
    public static FileScanReport Scan(IEnumerable<string> paths, FileScanOptions options)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(options);
        var run = new ScanRun(options);
        foreach (var path in paths)
        {
            run.ScanRoot(path);
        }

        return new FileScanReport(run.Findings, run.Skipped, run.FilesScanned, run.BytesScanned);
    }

    private sealed class ScanRun(FileScanOptions options)
    {
        private readonly List<TextMatch> _matches = [];
        private readonly InspectionPolicy _policy = options.Policy ?? InspectionPolicy.Default;

        public List<FileFinding> Findings { get; } = [];

        public List<SkippedFile> Skipped { get; } = [];

        public int FilesScanned { get; private set; }

        public long BytesScanned { get; private set; }

        public void ScanRoot(string root)
        {
            string display = root.Replace('\\', '/');
            if (File.Exists(root))
            {
                ScanFile(root, display);
                return;
            }

            if (!Directory.Exists(root))
            {
                Skipped.Add(new SkippedFile(display, SkipReason.NotFound, 0));
                return;
            }

            WalkDirectory(root, display);
        }

        private void WalkDirectory(string root, string display)
        {
            // Rules apply from the repository root down, so a scan of a sub-folder still honors
            // the .gitignore files above it. Paths are matched relative to each file's folder.
            string fullRoot = Path.GetFullPath(root);
            var chain = new List<(string Base, GitignoreRules Rules)>();
            string rootFromRepo = "";
            if (options.RespectGitignore)
            {
                rootFromRepo = LoadParentRules(fullRoot, chain);
            }

            // Explicit excludes are the operator's word: no .gitignore negation can re-include what they name.
            var excludes = options.ExcludePatterns is { Count: > 0 } extra ? GitignoreRules.Parse(string.Join('\n', extra)) : null;

            var pending = new Stack<(string Full, string Relative, List<(string Base, GitignoreRules Rules)> Chain)>();
            pending.Push((fullRoot, "", chain));
            while (pending.Count > 0)
            {
                var (dir, relative, parentChain) = pending.Pop();
                var dirChain = parentChain;
                string fromRepo = Join(rootFromRepo, relative);
                if (options.RespectGitignore && TryLoadRules(Path.Combine(dir, ".gitignore")) is { } rules)
                {
                    dirChain = [.. parentChain, (fromRepo, rules)];
                }

                FileSystemInfo[] entries;
                try
                {
                    entries = new DirectoryInfo(dir).GetFileSystemInfos();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Skipped.Add(new SkippedFile(JoinDisplay(display, relative), SkipReason.Unreadable, 0));
                    continue;
                }

                Array.Sort(entries, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
                var subdirectories = new List<(string, string)>();
                foreach (var entry in entries)
                {
                    string childRelative = Join(relative, entry.Name);
                    bool isDirectory = entry is DirectoryInfo;
                    if (isDirectory && entry.Name == ".git")
                    {
                        continue;
                    }

                    if (IsIgnored(dirChain, Join(rootFromRepo, childRelative), isDirectory)
                        || excludes?.Match(childRelative, isDirectory) == GitignoreVerdict.Ignored)
                    {
                        continue;
                    }

                    if (entry.LinkTarget is not null)
                    {
                        Skipped.Add(new SkippedFile(JoinDisplay(display, childRelative), SkipReason.SymbolicLink, 0));
                        continue;
                    }

                    if (isDirectory)
                    {
                        subdirectories.Add((entry.FullName, childRelative));
                    }
                    else
                    {
                        ScanFile(entry.FullName, JoinDisplay(display, childRelative));
                    }
                }

                // Pushed in reverse so directories are visited in name order (stable reports).
                for (int i = subdirectories.Count - 1; i >= 0; i--)
                {
                    pending.Push((subdirectories[i].Item1, subdirectories[i].Item2, dirChain));
                }
            }
        }

        private static string LoadParentRules(string fullRoot, List<(string Base, GitignoreRules Rules)> chain)
        {
            string? repo = fullRoot;
            while (repo is not null && !Directory.Exists(Path.Combine(repo, ".git")) && !File.Exists(Path.Combine(repo, ".git")))
            {
                repo = Path.GetDirectoryName(repo);
            }

            if (repo is null || string.Equals(repo, fullRoot, StringComparison.Ordinal))
            {
                return "";
            }

            string rootFromRepo = Path.GetRelativePath(repo, fullRoot).Replace('\\', '/');
            string current = repo;
            string currentRelative = "";
            foreach (var segment in rootFromRepo.Split('/'))
            {
                if (TryLoadRules(Path.Combine(current, ".gitignore")) is { } rules)
                {
                    chain.Add((currentRelative, rules));
                }

                current = Path.Combine(current, segment);
                currentRelative = Join(currentRelative, segment);
            }

            return rootFromRepo;
        }

        private static GitignoreRules? TryLoadRules(string path)
        {
            try
            {
                return File.Exists(path) ? GitignoreRules.Parse(File.ReadAllText(path)) : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        private static bool IsIgnored(List<(string Base, GitignoreRules Rules)> chain, string pathFromRepo, bool isDirectory)
        {
            // Deeper .gitignore files come later in the chain and take precedence.
            var verdict = GitignoreVerdict.None;
            foreach (var (basePath, rules) in chain)
            {
                string relative;
                if (basePath.Length == 0)
                {
                    relative = pathFromRepo;
                }
                else if (pathFromRepo.StartsWith(basePath + "/", StringComparison.Ordinal))
                {
                    relative = pathFromRepo[(basePath.Length + 1)..];
                }
                else
                {
                    continue;
                }

                var match = rules.Match(relative, isDirectory);
                if (match != GitignoreVerdict.None)
                {
                    verdict = match;
                }
            }

            return verdict == GitignoreVerdict.Ignored;
        }

        private void ScanFile(string fullPath, string display)
        {
            byte[] bytes;
            try
            {
                var info = new FileInfo(fullPath);
                if (info.Length > options.MaxFileBytes)
                {
                    Skipped.Add(new SkippedFile(display, SkipReason.TooLarge, info.Length));
                    return;
                }

                bytes = File.ReadAllBytes(fullPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Skipped.Add(new SkippedFile(display, SkipReason.Unreadable, 0));
                return;
            }

            if (bytes.AsSpan(0, Math.Min(bytes.Length, BinarySniffBytes)).Contains((byte)0))
            {
                Skipped.Add(new SkippedFile(display, SkipReason.Binary, bytes.Length));
                return;
            }

            FilesScanned++;
            BytesScanned += bytes.Length;
            string text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetString(bytes);
            if (text.Length > 0 && text[0] == '\uFEFF')
            {
                text = text[1..];
            }

            _matches.Clear();
            options.Scanner.Scan(text, _matches);
            if (_matches.Count == 0)
            {
                return;
            }

            var lines = new LineIndex(text);
            foreach (var match in _matches)
            {
                if (match.Start < 0 || match.Length <= 0 || match.Start > text.Length - match.Length)
                {
                    continue;
                }

                var (line, column) = lines.Position(match.Start);
                var (endLine, endColumn) = lines.Position(match.Start + match.Length - 1);
                Findings.Add(new FileFinding(
                    display,
                    line,
                    column,
                    endLine,
                    endColumn + 1,
                    match.RuleId,
                    match.Category,
                    match.Confidence,
                    _policy.Resolve(match, options.Team),
                    options.Hasher.Hash(text.AsSpan(match.Start, match.Length))));
            }
        }

        private static string Join(string left, string right) => left.Length == 0 ? right : right.Length == 0 ? left : left + "/" + right;

        private static string JoinDisplay(string root, string relative)
        {
            if (relative.Length == 0)
            {
                return root;
            }

            return root is "." or "./" ? relative : root.TrimEnd('/') + "/" + relative;
        }
    }

    /// <summary>Offsets of line starts; a line ends at <c>\n</c> (a preceding <c>\r</c> stays in the line).</summary>
    private sealed class LineIndex
    {
        private readonly List<int> _starts = [0];

        public LineIndex(string text)
        {
            for (int i = 0; i < text.Length; i++)
            {
                if (text[i] == '\n')
                {
                    _starts.Add(i + 1);
                }
            }
        }

        public (int Line, int Column) Position(int offset)
        {
            int index = _starts.BinarySearch(offset);
            if (index < 0)
            {
                index = ~index - 1;
            }

            return (index + 1, offset - _starts[index] + 1);
        }
    }
}
